import { createServer } from "node:net";
import { Readable } from "node:stream";
import { ListMultipartUploadsCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, type S3Client } from "@aws-sdk/client-s3";
import { O3mlError, type ErrorCodeName } from "@o3ml/errors";
import { expect } from "vitest";

// Helpers of the conformance suite (conformance-suite.ts).

export async function enableVersioning(raw: S3Client, bucket: string): Promise<void> {
  await raw.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }));
}

/** Version ids and delete markers of exactly `key`. */
export async function versionsOf(raw: S3Client, bucket: string, key: string): Promise<string[]> {
  const out = await raw.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])].filter((v) => v.Key === key).map((v) => String(v.VersionId));
}

export async function pendingUploads(raw: S3Client, bucket: string): Promise<string[]> {
  const out = await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (out.Uploads ?? []).map((u) => u.Key ?? "");
}

export async function expectCode(p: Promise<unknown>, code: ErrorCodeName): Promise<O3mlError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}`).toBeInstanceOf(O3mlError);
  expect({ code: (err as O3mlError).code, message: (err as O3mlError).message }).toMatchObject({ code });
  return err as O3mlError;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

export async function collect(stream: Readable): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

export function chunked(body: Uint8Array, size: number): Readable {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < body.length; i += size) parts.push(body.subarray(i, i + size));
  return Readable.from(parts);
}

export async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** A loopback port with nothing listening on it. */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 1));
    });
  });
}
