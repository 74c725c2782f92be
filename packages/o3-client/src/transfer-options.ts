import { O3mlError } from "@o3ml/errors";
import { MIN_PART_SIZE } from "./multipart-upload.js";
import { resolveNumbers } from "./numeric-options.js";

const MiB = 1024 * 1024;

/** How bodies are cut for upload. */
export interface TransferOptions {
  /** put() bodies of at least this many bytes go multipart (default 64 MiB). */
  multipartThreshold?: number;
  /** Bytes per part, at least 5 MiB, Akave's minimum (default 16 MiB). */
  partSize?: number;
  /** Parts uploaded in parallel (default 4); an upload holds about (queueSize + 1) × partSize bytes at most. */
  queueSize?: number;
}

export const TRANSFER_DEFAULTS: Required<TransferOptions> = Object.freeze({
  multipartThreshold: 64 * MiB,
  partSize: 16 * MiB,
  queueSize: 4,
});

/** The options with defaults filled in; INVALID_ARGUMENT for values S3 or Akave would refuse. */
export function resolveTuning(opts: TransferOptions): Required<TransferOptions> {
  const t = resolveNumbers(TRANSFER_DEFAULTS, { multipartThreshold: opts.multipartThreshold, partSize: opts.partSize, queueSize: opts.queueSize }, {
    multipartThreshold: 1,
    queueSize: 1,
  });
  if (t.partSize < MIN_PART_SIZE) {
    throw new O3mlError("INVALID_ARGUMENT", `partSize must be at least ${MIN_PART_SIZE} bytes (5 MiB, Akave's minimum part size), got ${t.partSize}`, {
      option: "partSize",
    });
  }
  return t;
}
