export { pushDataset, type PushOptions, type PushProgress } from "./push-dataset.js";
export { parsePushOptions, SOURCE_KINDS, type PushOptionTexts } from "./push-options.js";
export type { PushSummary } from "./push-summary.js";
export type { DatasetStore } from "./dataset-store.js";
export type { SourceKind } from "./sample.js";
export { DEFAULT_SEED } from "./shard-order.js";
export { parseSplitRatios, type SplitRatios } from "./split-ratios.js";
export { formatBytes, parseSize } from "./byte-size.js";
export { ShardCheck } from "./shard-check.js";
