import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { minioBinary, startMinio } from "./minio.js";
import { startMoto } from "./moto.js";
import type { S3Server } from "./s3-server.js";

/** An upstream the end-to-end tests run against; `start` is absent when it cannot run here. */
export interface UpstreamCase {
  name: string;
  start?: () => Promise<S3Server>;
}

/**
 * moto always; MinIO when its binary can be had. With CI=true a missing
 * MinIO fails the run; elsewhere its tests are skipped with a visible notice.
 */
export function upstreamCases(): UpstreamCase[] {
  const minio = minioBinary();
  if (!minio.path && process.env.CI === "true") throw new Error(`MinIO is required when CI=true: ${minio.reason}`);
  if (!minio.path) console.warn(`[standin] MinIO end-to-end tests SKIPPED: ${minio.reason}`);
  const bin = minio.path;
  return [
    { name: "moto", start: () => startMoto() },
    bin ? { name: "minio", start: () => startMinio({ binary: bin }) } : { name: `minio (SKIPPED: ${minio.reason})` },
  ];
}

let serial = 0;
/** A bucket name no other test uses. */
export function uniqueBucket(what: string): string {
  serial += 1;
  return `${what}-${process.pid}-${Date.now().toString(36)}-${serial}`.toLowerCase().slice(0, 63);
}

/** Records the raw response headers of every call the client makes. */
export function captureHeaders(client: S3Client): { last(): Record<string, string> } {
  let headers: Record<string, string> = {};
  client.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      headers = (out.response as { headers: Record<string, string> }).headers;
      return out;
    },
    { step: "deserialize", name: "captureHeaders" },
  );
  return { last: () => headers };
}

/**
 * Replaces the CRC32 the SDK insists on for DeleteObjects and
 * PutBucketVersioning with Content-MD5, which O3 accepts.
 */
export function useContentMd5(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { headers: Record<string, string>; body?: unknown };
      for (const name of Object.keys(req.headers)) {
        if (name === "x-amz-sdk-checksum-algorithm" || name.startsWith("x-amz-checksum-")) delete req.headers[name];
      }
      if (typeof req.body === "string" || req.body instanceof Uint8Array) {
        req.headers["content-md5"] = createHash("md5").update(req.body).digest("base64");
      }
      return next(args);
    },
    // Low priority in the build step: inside the SDK's checksum middleware,
    // so its headers are already there; before signing, so ours is signed.
    { step: "build", priority: "low", name: "useContentMd5" },
  );
}
