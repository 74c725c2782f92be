/**
 * @o3ml/integrity: how o3ml names, cuts and verifies bytes. Content
 * identifiers (CIDs), chunkers, the stored manifest and ref formats, and
 * whole-object hashing. See README.md for the terms and contracts.
 */
export { cidOf, cidOfDigest, digestOfCid, parseCid, isCid, verifyBlob, type BlobContext } from "./cid.js";
export { chunkStream, MAX_CHUNK_SIZE, type Chunker } from "./chunker.js";
export { fixedChunker } from "./fixed-chunker.js";
export { cdcChunker, type CdcOptions } from "./cdc-chunker.js";
export {
  OBJECT_MANIFEST_FORMAT,
  encodeObjectManifest,
  decodeObjectManifest,
  manifestCid,
  type ChunkEntry,
  type ObjectManifest,
  type ObjectManifestInput,
} from "./manifest.js";
export type { CheckpointEntry, CheckpointFacts, CheckpointTable, ChunkRange, EntryKind } from "./checkpoint-table.js";
export { checkpointBytes, entryRanges, hasPacks } from "./checkpoint-table.js";
export { REF_FORMAT, encodeRef, decodeRef, type Ref, type RefInput } from "./ref.js";
export { createSha256, sha256, toHex, SHA256_LENGTH, type Sha256 } from "./sha256.js";
