export { buildProgram, type ServerParts } from "./program.js";
export type { OfflineRebuild, OfflineRebuildSummary } from "./commands/index-cmd.js";
export { exitQuietlyWhenStdoutCloses, fail } from "./output.js";
export { nearestNames } from "./name-suggestions.js";
