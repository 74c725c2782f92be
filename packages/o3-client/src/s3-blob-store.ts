import { Readable } from "node:stream";
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { O3mlError } from "@o3ml/errors";
import type { Logger } from "pino";
import type { BlobStore, Capabilities, GetOptions, HeadResult, ListedObject, ListPage, ObjectVersion, PutOptions } from "./blob-store.js";
import { ensureBucket } from "./bucket.js";
import { outOfRange, validateRange } from "./byte-range.js";
import { probeCapabilities } from "./capabilities.js";
import { validateEndpoint, type O3Config } from "./config.js";
import { createLocalDirStore, isFileEndpoint } from "./local-dir-store.js";
import { listAll, listPageOf, MAX_PAGE_SIZE } from "./listing.js";
import { defaultLogger } from "./logger.js";
import { uploadMultipart } from "./multipart-upload.js";
import { captureNetworkHeaders } from "./network-headers.js";
import { payloadHashClient, sendPayloadHash } from "./payload-hash.js";
import { countRequests, type RequestCounter } from "./request-count.js";
import { resolveHttp, type HttpOptions } from "./http-options.js";
import { createS3Client } from "./o3-profile.js";
import { deleteEveryVersion, listVersions } from "./object-versions.js";
import { openObject, readObject, type ReadOptions } from "./object-reader.js";
import { cachedCapabilities } from "./probe-cache.js";
import { resolveRetry, type RetryOptions } from "./retry-strategy.js";
import { s3Call, type S3Target } from "./s3-target.js";
import { countBytes, validateKey } from "./object-key.js";
import { resolveTuning, type TransferOptions } from "./transfer-options.js";

export interface BlobStoreOptions extends TransferOptions {
  retry?: RetryOptions;
  http?: HttpOptions;
  /** Default: pino at O3ML_LOG_LEVEL (info) on stderr, so that stdout stays clean for --json. */
  logger?: Logger;
  /** Where capability probes are cached; false: memory only. Default `${O3ML_HOME:-~/.o3ml}/probes`. */
  probeCacheDir?: string | false;
  probeMaxAgeMs?: number;
  /** Told of every request sent to the store (request-count.ts). */
  onRequest?: RequestCounter;
}

/**
 * A BlobStore over one bucket of an S3 endpoint, with the O3 profile unless
 * `config.profile` is "s3"; over a local directory for a file:// endpoint.
 */
export function createBlobStore(config: O3Config, opts: BlobStoreOptions = {}): BlobStore {
  if (isFileEndpoint(config.endpoint)) return createLocalDirStore(validateEndpoint(config.endpoint), config.bucket, opts);
  return new S3BlobStore(config, opts);
}

class S3BlobStore implements BlobStore {
  readonly endpoint: string;
  readonly bucket: string;
  private readonly target: S3Target;
  private readonly tuning: ReturnType<typeof resolveTuning>;
  private readonly retry: Required<RetryOptions>;
  private readonly idleTimeoutMs: number;
  private readonly logger: Logger;
  /** What blob PUTs that send their payload hash go through (payload-hash.ts). */
  private readonly hashedPuts: S3Client;

  constructor(
    private readonly config: O3Config,
    private readonly opts: BlobStoreOptions,
  ) {
    this.endpoint = config.endpoint !== undefined ? validateEndpoint(config.endpoint) : `https://s3.${config.region}.amazonaws.com`;
    this.bucket = config.bucket;
    this.tuning = resolveTuning(opts);
    this.retry = resolveRetry(opts.retry);
    this.idleTimeoutMs = resolveHttp(opts.http).idleTimeoutMs;
    this.logger = opts.logger ?? defaultLogger();
    const client = createS3Client({ ...config, endpoint: config.endpoint && this.endpoint }, { http: opts.http, retry: opts.retry });
    this.target = { client, endpoint: this.endpoint, bucket: this.bucket, secrets: config.secretAccessKey ? [config.secretAccessKey] : [] };
    this.hashedPuts = payloadHashClient(client, { ...config, endpoint: config.endpoint && this.endpoint }, { http: opts.http, retry: opts.retry });
    if (opts.onRequest) {
      countRequests(client, opts.onRequest);
      if (this.hashedPuts !== client) countRequests(this.hashedPuts, opts.onRequest);
    }
  }

  async put(key: string, body: Uint8Array, opts: PutOptions = {}): Promise<void> {
    validateKey(key);
    const ifNoneMatch = await this.absenceCondition(key, opts);
    const params = { Bucket: this.bucket, Key: key, ContentType: opts.contentType, IfNoneMatch: ifNoneMatch };
    if (body.byteLength < this.tuning.multipartThreshold) {
      await s3Call(this.target, "writing", key, () => {
        const command = new PutObjectCommand({ ...params, Body: body, ContentLength: body.byteLength });
        if (!opts.sha256) return this.target.client.send(command, { abortSignal: opts.signal });
        sendPayloadHash(command, opts.sha256);
        return this.hashedPuts.send(command, { abortSignal: opts.signal });
      });
      opts.onProgress?.(body.byteLength);
      return;
    }
    // Parts grow past partSize only where S3's 10 000-part limit demands it.
    const partSize = Math.max(this.tuning.partSize, Math.ceil(body.byteLength / 10_000));
    await s3Call(this.target, "writing", key, () =>
      uploadMultipart(this.target, params, body, { partSize, queueSize: this.tuning.queueSize, signal: opts.signal, onProgress: opts.onProgress }),
    );
  }

  async putStream(key: string, body: Readable | AsyncIterable<Uint8Array>, opts: PutOptions = {}): Promise<{ size: number }> {
    validateKey(key);
    const ifNoneMatch = await this.absenceCondition(key, opts);
    const counted = countBytes(body);
    const params = { Bucket: this.bucket, Key: key, ContentType: opts.contentType, IfNoneMatch: ifNoneMatch };
    await s3Call(this.target, "writing", key, () =>
      uploadMultipart(this.target, params, counted, {
        partSize: this.tuning.partSize,
        queueSize: this.tuning.queueSize,
        signal: opts.signal,
        onProgress: opts.onProgress,
      }),
    );
    return { size: counted.size };
  }

  async get(key: string, opts: GetOptions = {}): Promise<Uint8Array> {
    const read = await this.readOptions(key, opts);
    return read ? readObject(this.target, key, read) : new Uint8Array(0);
  }

  async getStream(key: string, opts: GetOptions = {}): Promise<Readable> {
    const read = await this.readOptions(key, opts);
    return read ? openObject(this.target, key, read) : Readable.from([], { objectMode: false });
  }

  async head(key: string): Promise<HeadResult | undefined> {
    validateKey(key);
    const command = new HeadObjectCommand({ Bucket: this.bucket, Key: key });
    const network = captureNetworkHeaders(command);
    try {
      const out = await s3Call(this.target, "inspecting", key, () => this.target.client.send(command));
      return { size: out.ContentLength ?? 0, ...(out.LastModified ? { lastModified: out.LastModified.getTime() } : {}), ...network() };
    } catch (err) {
      if (err instanceof O3mlError && err.code === "NOT_FOUND") return undefined;
      throw err;
    }
  }

  async listPage(prefix: string, opts: { after?: string; pageSize?: number } = {}): Promise<ListPage> {
    const pageSize = opts.pageSize ?? MAX_PAGE_SIZE;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
      throw new O3mlError("INVALID_ARGUMENT", `pageSize must be a positive integer, got ${pageSize}`);
    }
    return listPageOf(this.target, await this.capabilities(), prefix, opts.after, pageSize);
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    yield* listAll(this.target, await this.capabilities(), prefix);
  }

  /**
   * Idempotent: deleting a missing key succeeds. On a bucket the probe found
   * versioned, every version and delete marker of the key is removed. Else a
   * plain DeleteObject; should its answer show a delete marker after all
   * (versioning turned on since the probe), the versions are removed too.
   */
  async delete(key: string): Promise<void> {
    validateKey(key);
    if ((await this.capabilities()).versioning) {
      await deleteEveryVersion(this.target, key);
      return;
    }
    const out = await s3Call(this.target, "deleting", key, () => this.target.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
    if (out.DeleteMarker) await deleteEveryVersion(this.target, key);
  }

  listVersions(prefix: string): AsyncIterable<ObjectVersion> {
    return listVersions(this.target, prefix);
  }

  async deleteVersion(key: string, versionId: string): Promise<void> {
    validateKey(key);
    try {
      await s3Call(this.target, "deleting a version of", key, () => this.target.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key, VersionId: versionId })));
    } catch (err) {
      if (!(err instanceof O3mlError && err.code === "NOT_FOUND")) throw err;
    }
  }

  ensureBucket(opts: { create?: boolean } = {}): Promise<void> {
    return ensureBucket(this.target, this.config.region, { ...opts, logger: this.logger });
  }

  capabilities(): Promise<Capabilities> {
    return cachedCapabilities(this.endpoint, this.bucket, () => probeCapabilities(this.target, this.logger), {
      dir: this.opts.probeCacheDir,
      maxAgeMs: this.opts.probeMaxAgeMs,
      logger: this.logger,
    });
  }

  close(): void {
    this.target.client.destroy();
    if (this.hashedPuts !== this.target.client) this.hashedPuts.destroy();
  }

  /** The If-None-Match value for a put, after a HEAD where the server would not enforce it. */
  private async absenceCondition(key: string, opts: PutOptions): Promise<string | undefined> {
    if (!opts.ifAbsent) return undefined;
    if ((await this.capabilities()).conditionalPut) return "*";
    if (await this.head(key)) throw new O3mlError("ALREADY_EXISTS", `object ${JSON.stringify(key)} already exists in bucket ${this.bucket} at ${this.endpoint}`, { key });
    return undefined;
  }

  /** How to read `key`; undefined for an empty range of an existing object (nothing to fetch). */
  private async readOptions(key: string, opts: GetOptions): Promise<ReadOptions | undefined> {
    validateKey(key);
    const base = { signal: opts.signal, retry: this.retry, idleTimeoutMs: this.idleTimeoutMs };
    if (!opts.range) return { ...base, serverRange: false };
    validateRange(opts.range, key);
    if (opts.range.length === 0) {
      const head = await this.head(key);
      if (!head) throw new O3mlError("NOT_FOUND", `object ${JSON.stringify(key)} in bucket ${this.bucket} not found at ${this.endpoint}`, { key });
      if (opts.range.offset > head.size) throw outOfRange(key, opts.range.offset, head.size);
      return undefined;
    }
    return { ...base, range: opts.range, serverRange: (await this.capabilities()).rangeGet };
  }
}
