#!/usr/bin/env node
// o3ml runs on Node 24 (22.12 or newer works too; docs/setup.md). An older
// node is refused here with the way out, before its first import fails on
// some module (or on a native addon built for Node 24).
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `o3ml needs Node 24 (or 22.12 and newer), but this is Node ${process.version}. ` +
      "In a clone of o3ml, `source scripts/node-env.sh` puts the Node 24 that set-up fetched first on PATH.",
  );
  process.exit(1);
}
// `o3ml serve` keeps V8's young generation small. Under a streaming service's allocation rate,
// Node 24's V8 grows it to a 128 MiB new space, held resident between collections, where the
// service's memory is to stay within 300 MiB whatever passes through it (docs/performance.md,
// "Service memory"). V8 takes that size only at start, so the command starts itself again, in
// place (same process, same PID: signals and supervisors see no difference), with the flag,
// unless the flag was given already (on the command line or in NODE_OPTIONS). Node 22.12-22.14
// lack process.execve and keep V8's default.
const SEMI_SPACE_FLAG = "--max-semi-space-size";
if (
  process.argv[2] === "serve" &&
  typeof process.execve === "function" &&
  !process.execArgv.some((a) => a.startsWith(SEMI_SPACE_FLAG)) &&
  !(process.env.NODE_OPTIONS ?? "").includes(SEMI_SPACE_FLAG)
) {
  process.execve(process.execPath, [process.execPath, ...process.execArgv, `${SEMI_SPACE_FLAG}=4`, ...process.argv.slice(1)], process.env);
}
await import("../dist/main.js");
