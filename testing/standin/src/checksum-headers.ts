import type { IncomingHttpHeaders } from "node:http";

/**
 * The flexible-checksum header a request carries, if any. Akave O3 refuses
 * these (`InvalidArgument … x-amz-sdk-checksum-algorithm`), and newer AWS
 * SDKs send them by default: `x-amz-sdk-checksum-algorithm` and
 * `x-amz-checksum-<algo>` on uploads, `x-amz-checksum-mode` on downloads,
 * `x-amz-checksum-algorithm` on CreateMultipartUpload, and a checksum named in
 * `x-amz-trailer` for aws-chunked streaming uploads. Even with
 * WHEN_REQUIRED, SDKs send a CRC32 on operations that require a checksum
 * (DeleteObjects, PutBucketVersioning): those fail here too, as on O3,
 * unless the client replaces it with Content-MD5.
 */
export function checksumHeaderIn(headers: IncomingHttpHeaders): string | undefined {
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (lower === "x-amz-sdk-checksum-algorithm" || lower.startsWith("x-amz-checksum-")) return lower;
    if (lower === "x-amz-trailer" && /x-amz-checksum-/i.test(String(headers[name]))) return lower;
  }
  return undefined;
}

/** The message O3 answers with, naming the header it found. */
export function checksumRefusal(header: string): string {
  return (
    `x-amz-sdk-checksum-algorithm and x-amz-checksum-* headers are not supported (got ${header}); ` +
    `set the SDK's request checksum calculation and response checksum validation to WHEN_REQUIRED, ` +
    `and send Content-MD5 instead for operations that require a checksum (DeleteObjects, PutBucketVersioning)`
  );
}
