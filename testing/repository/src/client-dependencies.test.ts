import { describe, expect, it } from "vitest";
import { RUN_TIME_FIELDS } from "./test-tooling-rule.js";
import { workspaces, type Workspace } from "./workspaces.js";

/**
 * The client side stays light: @o3ml/cli (the client commands) and
 * @o3ml/client (the TypeScript client of the service) never need, at run
 * time and through any workspace they need, the service (@o3ml/storage-service)
 * or the metadata index (@o3ml/metadata, which brings SQLite and PostgreSQL).
 * Only the program that owns the `o3ml` bin (packages/o3ml) composes them with
 * the service, and the end-to-end tests that start a service in their own
 * process sit there too: the CLI's package.json names neither, not even as a
 * development dependency. Nor does the client side write the bucket itself
 * (@o3ml/repository): it reaches the bucket only through the service.
 *
 * The bucket's owner, @o3ml/repository, needs neither the service nor the
 * metadata index at run time either: the service and the index are built on
 * it, not the other way round.
 */
const CLIENT_SIDE = ["@o3ml/cli", "@o3ml/client"];
const SERVER_SIDE = ["@o3ml/storage-service", "@o3ml/metadata", "@o3ml/repository"];
const REPOSITORY = "@o3ml/repository";
const ABOVE_REPOSITORY = ["@o3ml/storage-service", "@o3ml/metadata"];

/** Each package of `forbidden` that `name` needs at run time, with the chain of workspaces that leads to it. */
function serverSideNeeds(all: Workspace[], name: string, forbidden: readonly string[] = SERVER_SIDE): string[] {
  const byName = new Map(all.map((w) => [w.name, w]));
  const found: string[] = [];
  const seen = new Set<string>();
  const walk = (pkg: string, chain: string[]) => {
    if (seen.has(pkg)) return;
    seen.add(pkg);
    const w = byName.get(pkg);
    if (!w) return;
    for (const field of RUN_TIME_FIELDS) {
      for (const dep of Object.keys((w.manifest[field] as Record<string, string> | undefined) ?? {})) {
        const path = [...chain, `${dep} (${w.dir}/package.json ${field})`];
        if (forbidden.includes(dep)) found.push(`${name} needs ${path.join(" → ")}`);
        else walk(dep, path);
      }
    }
  };
  walk(name, []);
  return found;
}

describe("the CLI and the client do not depend on the service", () => {
  const all = workspaces();

  it("knows both packages", () => {
    expect(all.map((w) => w.name)).toEqual(expect.arrayContaining([...CLIENT_SIDE, ...SERVER_SIDE, "@o3ml/o3ml"]));
  });

  it("neither needs the service, the metadata index or the bucket's modules at run time, directly or through another workspace", () => {
    expect(CLIENT_SIDE.flatMap((name) => serverSideNeeds(all, name))).toEqual([]);
  });

  it("the CLI's tests do not reach for the service either", () => {
    const cli = all.find((w) => w.name === "@o3ml/cli")!;
    const named = Object.keys({ ...(cli.manifest.devDependencies as Record<string, string> | undefined) });
    expect(named.filter((dep) => SERVER_SIDE.includes(dep)), `${cli.dir}/package.json devDependencies`).toEqual([]);
  });

  it("finds such a dependency, also one a workspace in between brings", () => {
    const ws = (dir: string, name: string, dependencies: Record<string, string>): Workspace => ({ dir, name, manifest: { name, dependencies } });
    const fake = [
      ws("packages/cli", "@o3ml/cli", { "@o3ml/client": "0.1.0" }),
      ws("packages/client", "@o3ml/client", { "@o3ml/helper": "0.1.0" }),
      ws("packages/helper", "@o3ml/helper", { "@o3ml/metadata": "0.1.0" }),
    ];
    expect(serverSideNeeds(fake, "@o3ml/cli")).toEqual([
      "@o3ml/cli needs @o3ml/client (packages/cli/package.json dependencies) → @o3ml/helper (packages/client/package.json dependencies) → @o3ml/metadata (packages/helper/package.json dependencies)",
    ]);
  });
});

describe("the bucket's owner sits below the service and the index", () => {
  it("@o3ml/repository needs neither the service nor the metadata index at run time", () => {
    expect(serverSideNeeds(workspaces(), REPOSITORY, ABOVE_REPOSITORY)).toEqual([]);
  });

  it("finds it when it does", () => {
    const fake: Workspace[] = [{ dir: "packages/repository", name: REPOSITORY, manifest: { name: REPOSITORY, dependencies: { "@o3ml/metadata": "0.1.0" } } }];
    expect(serverSideNeeds(fake, REPOSITORY, ABOVE_REPOSITORY)).toEqual(["@o3ml/repository needs @o3ml/metadata (packages/repository/package.json dependencies)"]);
  });
});
