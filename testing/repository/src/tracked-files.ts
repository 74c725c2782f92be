import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout these checks read (this file sits at testing/repository/src/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/**
 * The repository's files, as git tracks them (`git ls-files`), less those
 * deleted from the working tree: a new file counts once it is added to git.
 */
export function trackedFiles(root = REPO_ROOT): string[] {
  const out = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 });
  return out.split("\0").filter((f) => f && existsSync(join(root, f)));
}

/**
 * Those of `paths` that git ignores (build output, scratch folders, the
 * virtualenv). Each is asked about as a file and as a folder: a pattern such
 * as `tmp/` matches only folders, and a path that does not exist is neither.
 */
export function ignoredByGit(paths: string[], root = REPO_ROOT): Set<string> {
  if (!paths.length) return new Set();
  const asked = paths.flatMap((p) => [p, `${p}/`]);
  // Exit status 1 means "none is ignored"; only a status above 1 is a failure.
  const r = spawnSync("git", ["check-ignore", "--no-index", "--stdin", "-z"], { cwd: root, input: asked.join("\0"), encoding: "utf8" });
  if (r.status !== 0 && r.status !== 1) throw new Error(`git check-ignore failed: ${r.stderr}`);
  return new Set(r.stdout.split("\0").filter(Boolean).map((p) => p.replace(/\/$/, "")));
}
