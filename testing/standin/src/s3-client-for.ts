import { S3Client } from "@aws-sdk/client-s3";
import type { S3Server } from "./s3-server.js";

/**
 * A plain AWS SDK S3 client for one of these servers, path-style as O3
 * requires. `checksums: "when-required"` (the default) is the setting O3
 * needs; `"sdk-default"` keeps the SDK's flexible checksums, which the
 * O3-profile layer refuses just as O3 does.
 */
export function s3ClientFor(
  server: Pick<S3Server, "endpoint" | "region" | "accessKeyId" | "secretAccessKey">,
  opts: { checksums?: "when-required" | "sdk-default"; maxAttempts?: number } = {},
): S3Client {
  const whenRequired = (opts.checksums ?? "when-required") === "when-required";
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    ...(whenRequired ? { requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED" } : {}),
    ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
  });
}
