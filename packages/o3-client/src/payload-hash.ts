import type { PutObjectCommand } from "@aws-sdk/client-s3";

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
