import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";

const isChecksumHeader = (name: string) => {
  const h = name.toLowerCase();
  return h.startsWith("x-amz-checksum-") || h === "x-amz-sdk-checksum-algorithm";
};

/**
 * Makes `client` send Content-MD5 where the SDK would send a flexible
 * checksum. WHEN_REQUIRED keeps checksums off ordinary uploads, but the
 * operations whose S3 model requires one (DeleteObjects, PutBucketVersioning,
 * PutBucketLifecycleConfiguration…) still get a CRC32 header, which O3
 * refuses just the same; Content-MD5 is the older way S3 accepts for them.
 *
 * Runs in the build step after the SDK's checksum middleware (low priority)
 * and before signing. Only in-memory bodies are rewritten: a streamed body
 * with a checksum trailer cannot be hashed up front and is left as it is.
 */
export function sendContentMd5(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string>; body?: unknown };
      const { headers, body } = request;
      const inMemory = body === undefined || typeof body === "string" || body instanceof Uint8Array;
      if (headers && inMemory && Object.keys(headers).some(isChecksumHeader)) {
        for (const name of Object.keys(headers)) if (isChecksumHeader(name)) delete headers[name];
        headers["content-md5"] = createHash("md5")
          .update(body ?? "")
          .digest("base64");
      }
      return next(args);
    },
    { step: "build", priority: "low", name: "o3mlContentMd5", override: true },
  );
}
