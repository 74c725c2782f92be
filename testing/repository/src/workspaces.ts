import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./tracked-files.js";

export interface Workspace {
  /** Folder from the repository root, such as `packages/cli`. */
  dir: string;
  name: string;
  manifest: Record<string, unknown>;
}

/** The npm workspaces the root package.json lists (a `folder/*` entry names each sub-folder with a package.json). */
export function workspaces(root = REPO_ROOT): Workspace[] {
  const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { workspaces: string[] };
  const dirs = rootManifest.workspaces.flatMap((entry) => {
    if (!entry.endsWith("/*")) return [entry];
    const parent = entry.slice(0, -2);
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `${parent}/${d.name}`);
  });
  return dirs
    .filter((dir) => existsSync(join(root, dir, "package.json")))
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as Record<string, unknown>;
      return { dir, name: String(manifest.name), manifest };
    });
}
