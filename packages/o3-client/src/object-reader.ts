import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { GetObjectCommand, type GetObjectCommandOutput } from "@aws-sdk/client-s3";
import type { O3mlError } from "@o3ml/errors";
import { readBody, truncated } from "./body-stream.js";
import { rangeHeader, sliceBytes, sliceStream, type ByteRange } from "./byte-range.js";
import { FullJitterBackoff, type RetryOptions } from "./retry-strategy.js";
import { toO3mlError } from "./s3-errors.js";
import { s3Call, type S3Target } from "./s3-target.js";

export interface ReadOptions {
  /** Non-empty range to read; validated by the caller. */
  range?: ByteRange;
  /** Ask the server for the range (probe: rangeGet), else fetch the whole object and cut. */
  serverRange: boolean;
  signal?: AbortSignal;
  retry: Required<RetryOptions>;
  /** A body silent this long while being read fails (0: never). */
  idleTimeoutMs: number;
}

/**
 * Reads an object, or a range of it, into memory.
 *
 * The SDK retries the request until response headers arrive; a body cut off
 * after that (connection reset, stall, fewer bytes than Content-Length) is
 * outside its reach, so the whole GET is issued again here, with the same
 * attempt budget and backoff.
 */
export async function readObject(t: S3Target, key: string, opts: ReadOptions): Promise<Uint8Array> {
  const backoff = new FullJitterBackoff(opts.retry.baseDelayMs, opts.retry.maxDelayMs);
  for (let attempt = 1; ; attempt++) {
    const out = await request(t, key, opts);
    try {
      return cutIfWhole(await collect(body(out, key, opts), out.ContentLength, key), out, key, opts.range);
    } catch (err) {
      const e = bodyError(t, key, err);
      const transient = e.code === "UNAVAILABLE" || e.code === "DEADLINE_EXCEEDED";
      if (!transient || attempt >= opts.retry.maxAttempts || opts.signal?.aborted) throw e;
      await sleep(backoff.computeNextBackoffDelay(attempt), undefined, { signal: opts.signal });
    }
  }
}

/**
 * Opens an object, or a range of it, as a stream. The stream fails with an
 * O3mlError (UNAVAILABLE when the body ends short of its Content-Length,
 * DEADLINE_EXCEEDED when it stalls); destroying it early releases the
 * connection. Not retried: bytes already handed on cannot be taken back, so
 * the caller decides.
 */
export async function openObject(t: S3Target, key: string, opts: ReadOptions): Promise<Readable> {
  const out = await request(t, key, opts);
  let source: AsyncIterable<Uint8Array> = body(out, key, opts);
  if (opts.range && (!opts.serverRange || out.ContentRange === undefined)) source = sliceStream(source, opts.range, key);
  return Readable.from(mapErrors(t, key, source), { objectMode: false });
}

/**
 * Gathers a body into one buffer. With a Content-Length the buffer is
 * allocated once and filled in place: a list of socket-sized pieces joined at
 * the end would double the transient memory of every blob read, and on a
 * multi-GiB stream that garbage is what drives the service's resident size.
 */
async function collect(source: AsyncIterable<Uint8Array>, length: number | undefined, key: string): Promise<Uint8Array> {
  if (length === undefined) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of source) chunks.push(chunk);
    return Buffer.concat(chunks);
  }
  const bytes = Buffer.allocUnsafeSlow(length);
  let filled = 0;
  for await (const chunk of source) {
    // More bytes than announced: fail as readBody would at the end, before overrunning the buffer.
    if (filled + chunk.byteLength > length) throw truncated(JSON.stringify(key), filled + chunk.byteLength, length);
    bytes.set(chunk, filled);
    filled += chunk.byteLength;
  }
  return bytes;
}

function request(t: S3Target, key: string, opts: ReadOptions): Promise<GetObjectCommandOutput> {
  const range = opts.range && opts.serverRange ? rangeHeader(opts.range) : undefined;
  return s3Call(t, "reading", key, () =>
    t.client.send(new GetObjectCommand({ Bucket: t.bucket, Key: key, Range: range }), { abortSignal: opts.signal }),
  );
}

/** The response body, checked for stalls and for its announced length (body-stream.ts). */
function body(out: GetObjectCommandOutput, key: string, opts: ReadOptions): AsyncIterable<Uint8Array> {
  return readBody(out.Body as Readable, out.ContentLength, opts.idleTimeoutMs, JSON.stringify(key));
}

/** A whole object (no range asked, or a server that ignored Range) cut to the range wanted. */
function cutIfWhole(bytes: Uint8Array, out: GetObjectCommandOutput, key: string, range: ByteRange | undefined): Uint8Array {
  if (!range || out.ContentRange !== undefined) return bytes;
  return sliceBytes(bytes, range, key);
}

function bodyError(t: S3Target, key: string, err: unknown): O3mlError {
  return toO3mlError(err, { endpoint: t.endpoint, bucket: t.bucket, key, op: "reading", secrets: t.secrets });
}

async function* mapErrors(t: S3Target, key: string, source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* source;
  } catch (err) {
    throw bodyError(t, key, err);
  }
}
