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
await import("../dist/main.js");
