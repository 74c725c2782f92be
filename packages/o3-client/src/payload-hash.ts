import { S3Client, type PutObjectCommand } from "@aws-sdk/client-s3";
import type { O3Config } from "./config.js";
import type { HttpOptions } from "./http-options.js";
import { s3ClientOptions } from "./o3-profile.js";
import type { RetryOptions } from "./retry-strategy.js";

/**
 * Makes `command` send `sha256` (the caller's sha2-256 of the body, e.g. a
 * blob's CID digest) as its `x-amz-content-sha256`. SigV4 signs that header
 * instead of hashing the body again on the event loop, which on a plain-HTTP
 * endpoint costs as much CPU as the upload itself; and the store checks the
 * bytes it received against it, refusing the PUT when they differ
 * (XAmzContentSHA256Mismatch), so a wrong digest can fail a put but never
 * store bytes under it.
 */
export function sendPayloadHash(command: PutObjectCommand, sha256: Uint8Array): void {
  const hex = Buffer.from(sha256.buffer, sha256.byteOffset, sha256.byteLength).toString("hex");
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers["x-amz-content-sha256"] = hex;
      return next(args);
    },
    { step: "build", priority: "low", name: "o3mlPayloadHash" },
  );
}

/**
 * The client for PUTs that send their payload hash: `client` itself in the O3 profile, which
 * adds no flexible checksums; in the "s3" profile, one that adds none either, over `client`'s
 * connections. Where the SDK adds them it computes a CRC-32 of every body, 0.3 ms of CPU per MiB
 * on the event loop, and a signed sha2-256 already makes the store check every byte; sending
 * that digest as the flexible checksum instead costs the store a second sha2-256 of the body
 * (MinIO: 3.4-3.9 -> 4.6-4.7 ms of CPU per MiB). docs/performance.md, "Blob PUTs without a CRC-32".
 */
export function payloadHashClient(client: S3Client, config: O3Config, opts: { http?: HttpOptions; retry?: RetryOptions }): S3Client {
  if (config.profile === "o3") return client;
  return new S3Client({ ...s3ClientOptions(config, opts), requestHandler: client.config.requestHandler, requestChecksumCalculation: "WHEN_REQUIRED" });
}
