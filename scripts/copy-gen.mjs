// tsc does not emit the generated protobufjs JavaScript (it is not TypeScript),
// and packages that import @o3ml/proto need dist/gen/*.d.ts while they build,
// so every build first copies packages/proto/src/gen/* into dist/gen/ verbatim.
import { cpSync } from "node:fs";
const proto = new URL("../packages/proto/", import.meta.url).pathname;
cpSync(`${proto}src/gen`, `${proto}dist/gen`, { recursive: true });
