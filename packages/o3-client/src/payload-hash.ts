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
export function sendPayloadHash(command: PutObjectCommand, sha256: Uint8Array, flexibleChecksums: boolean): void {
  const digest = Buffer.from(sha256.buffer, sha256.byteOffset, sha256.byteLength);
  // Where the SDK adds flexible checksums (the "s3" profile), it computes a CRC-32 of every body
  // unless the request carries a checksum already: 0.3 ms of CPU per MiB on the event loop
  // (docs/performance.md, "Blob PUTs without a second checksum"). The sha2-256 is that checksum:
  // the store checks it as well and keeps it with the object. The "o3" profile sends none (O3
  // refuses them), and the signed payload hash above checks the bytes there.
  if (flexibleChecksums) command.input.ChecksumSHA256 = digest.toString("base64");
  const hex = digest.toString("hex");
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers["x-amz-content-sha256"] = hex;
      return next(args);
    },
    { step: "build", priority: "low", name: "o3mlPayloadHash" },
  );
}
