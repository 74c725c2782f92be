import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { link, mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { O3mlError } from "@o3ml/errors";
import type { BlobStore, Capabilities, GetOptions, HeadResult, ListedObject, ListPage, ObjectVersion, PutOptions } from "./blob-store.js";
import { validateBucketName } from "./bucket-name.js";
import { outOfRange, validateRange } from "./byte-range.js";
import { compareKeys, isKeyDirName, isObjectName, keyToPath, pathToKey, prefixDirs } from "./local-dir-keys.js";
import { validateKey } from "./object-key.js";
import { resolveTuning, type TransferOptions } from "./transfer-options.js";
import type { RequestCounter } from "./request-count.js";

/** The page size of listPage when none is given, as S3's ListObjectsV2. */
const DEFAULT_PAGE_SIZE = 1000;

export function isFileEndpoint(endpoint: string | undefined): endpoint is string {
  return endpoint !== undefined && endpoint.startsWith("file:");
}

/**
 * A BlobStore over a local directory (`file:///path`): bucket `b` is the
 * folder `/path/b`, each key one file in it (layout in local-dir-keys.ts).
 * It is the persistent default of `o3ml serve` without an endpoint, so it
 * keeps the promises the S3 stores keep: a put is all or nothing (written
 * to a temporary file, synced, then renamed into place), ifAbsent is atomic
 * (link(2) refuses an existing name), listing is in UTF-8 key order. There
 * are no versions, so delete removes the one file. `multipartThreshold`
 * and `partSize` only pace onProgress and cancellation checks, as parts do
 * on S3.
 */
export function createLocalDirStore(endpoint: string, bucket: string, opts: TransferOptions & { onRequest?: RequestCounter } = {}): BlobStore {
  return new LocalDirStore(endpoint, bucket, opts);
}

class LocalDirStore implements BlobStore {
  readonly endpoint: string;
  private readonly root: string;
  private readonly dir: string;
  private readonly tuning: ReturnType<typeof resolveTuning>;
  private caps?: Capabilities;
  /** Each operation is this store's request (request-count.ts): each read, each listing page, each write. */
  private readonly count: RequestCounter;

  constructor(
    endpoint: string,
    readonly bucket: string,
    opts: TransferOptions & { onRequest?: RequestCounter },
  ) {
    this.count = opts.onRequest ?? (() => {});
    let root: string;
    try {
      root = fileURLToPath(endpoint);
    } catch (err) {
      throw new O3mlError("INVALID_ARGUMENT", `O3ML_ENDPOINT ${JSON.stringify(endpoint)} is not a file:///absolute/path URL (${(err as Error).message})`, { setting: "O3ML_ENDPOINT" });
    }
    this.root = root.replace(/\/+$/, "") || "/";
    this.endpoint = `file://${this.root}`;
    this.dir = join(this.root, bucket);
    this.tuning = resolveTuning(opts);
  }

  private fileOf(key: string): string {
    // A name outside the rule could step out of the root ("..") before ensureBucket ever ran.
    validateBucketName(this.bucket);
    validateKey(key);
    return join(this.dir, ...keyToPath(key));
  }

  async put(key: string, body: Uint8Array, opts: PutOptions = {}): Promise<void> {
    this.count("put");
    const step = body.byteLength > this.tuning.multipartThreshold ? this.tuning.partSize : Math.max(1, body.byteLength);
    async function* parts() {
      for (let at = 0; at < body.byteLength; at += step) yield body.subarray(at, at + step);
    }
    await this.write(key, parts(), opts, true);
  }

  async putStream(key: string, body: Readable | AsyncIterable<Uint8Array>, opts: PutOptions = {}): Promise<{ size: number }> {
    this.count("put");
    return { size: await this.write(key, body as AsyncIterable<Uint8Array | string>, opts, false) };
  }

  /** Writes `parts` to a temporary file, then moves it to the key's name; on any failure removes the temporary file. */
  private async write(key: string, parts: AsyncIterable<Uint8Array | string>, opts: PutOptions, progressPerPart: boolean): Promise<number> {
    const file = this.fileOf(key);
    if (opts.ifAbsent && (await this.head(key))) throw exists(key);
    const tmp = join(this.dir, `.put-${randomBytes(8).toString("hex")}`);
    let fh: FileHandle;
    try {
      fh = await open(tmp, "wx", 0o644);
    } catch (err) {
      throw await this.failure(err, key, "write");
    }
    let size = 0;
    try {
      const it = parts[Symbol.asyncIterator]();
      for (;;) {
        const next = await untilAborted(it.next(), opts.signal, key);
        if (next.done) break;
        const bytes = typeof next.value === "string" ? Buffer.from(next.value, "utf8") : next.value;
        await fh.write(bytes);
        size += bytes.byteLength;
        if (progressPerPart) opts.onProgress?.(size);
      }
      if (!progressPerPart || size === 0) opts.onProgress?.(size);
      cancelledCheck(opts.signal, key);
      await fh.datasync();
      await fh.close();
      await this.place(tmp, file, key, !!opts.ifAbsent);
      return size;
    } catch (err) {
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw err instanceof O3mlError ? err : await this.failure(err, key, "write");
    }
  }

  /** Moves the finished temporary file to `file`, creating its folders (again, if a delete pruned them meanwhile). */
  private async place(tmp: string, file: string, key: string, ifAbsent: boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await mkdir(dirname(file), { recursive: true });
      try {
        if (ifAbsent) {
          await link(tmp, file);
          await unlink(tmp);
        } else {
          await rename(tmp, file);
        }
        return;
      } catch (err) {
        if (code(err) === "EEXIST" && ifAbsent) throw exists(key);
        if (code(err) !== "ENOENT" || attempt >= 3) throw err;
      }
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<Uint8Array> {
    const chunks: Buffer[] = [];
    for await (const c of await this.getStream(key, opts)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async getStream(key: string, opts: GetOptions = {}): Promise<Readable> {
    this.count("get");
    const file = this.fileOf(key);
    if (opts.range) validateRange(opts.range, key);
    let fh: FileHandle;
    try {
      fh = await open(file, "r");
    } catch (err) {
      throw await this.failure(err, key, "read");
    }
    // Streams the open file, so a delete or overwrite after this point does not change what is read.
    const size = (await fh.stat()).size;
    const range = opts.range;
    if (range && range.length === 0) {
      await fh.close();
      return Readable.from([]);
    }
    if (range && range.offset >= size) {
      await fh.close();
      throw outOfRange(key, range.offset, size);
    }
    const start = range?.offset ?? 0;
    const end = range ? Math.min(size, range.offset + range.length) - 1 : undefined;
    return createReadStream("", { fd: fh, start, end, signal: opts.signal, autoClose: true });
  }

  async head(key: string): Promise<HeadResult | undefined> {
    this.count("head");
    try {
      const info = await stat(this.fileOf(key));
      return { size: info.size, lastModified: info.mtimeMs };
    } catch (err) {
      if (code(err) === "ENOENT" || code(err) === "ENOTDIR") {
        await this.requireBucket();
        return undefined;
      }
      throw await this.failure(err, key, "stat");
    }
  }

  async listPage(prefix: string, opts: { after?: string; pageSize?: number } = {}): Promise<ListPage> {
    this.count("list");
    const pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    const keys = (await this.keysUnder(prefix)).filter((k) => opts.after === undefined || compareKeys(k, opts.after) > 0);
    const page = keys.slice(0, pageSize);
    const objects: ListedObject[] = [];
    for (const key of page) {
      const info = await stat(this.fileOf(key)).catch(() => undefined);
      if (info) objects.push({ key, size: info.size, lastModified: info.mtimeMs });
    }
    return { objects, next: keys.length > pageSize ? page.at(-1) : undefined };
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    let after: string | undefined;
    do {
      const page = await this.listPage(prefix, { after });
      yield* page.objects;
      after = page.next;
    } while (after !== undefined);
  }

  /** Every key starting with `prefix`, in key order: a walk of the folder of the prefix's complete segments. */
  private async keysUnder(prefix: string): Promise<string[]> {
    await this.requireBucket();
    const base = prefixDirs(prefix);
    const keys: string[] = [];
    const walk = async (dirs: string[]): Promise<void> => {
      let entries;
      try {
        entries = await readdir(join(this.dir, ...dirs), { withFileTypes: true });
      } catch (err) {
        if (code(err) === "ENOENT" || code(err) === "ENOTDIR") return;
        throw err;
      }
      for (const e of entries) {
        if (e.isFile() && isObjectName(e.name)) {
          const key = pathToKey(dirs, e.name);
          if (key.startsWith(prefix)) keys.push(key);
        } else if (e.isDirectory() && isKeyDirName(e.name)) {
          await walk([...dirs, e.name]);
        }
      }
    };
    await walk(base);
    return keys.sort(compareKeys);
  }

  async delete(key: string): Promise<void> {
    this.count("delete");
    const file = this.fileOf(key);
    try {
      await unlink(file);
    } catch (err) {
      if (code(err) === "ENOENT" || code(err) === "ENOTDIR") return void (await this.requireBucket());
      throw await this.failure(err, key, "delete");
    }
    // Prunes folders the delete left empty, so a bucket holds only what its keys need.
    for (let d = dirname(file); d.startsWith(`${this.dir}/`); d = dirname(d)) {
      if (!(await rmdir(d).then(() => true, () => false))) break;
    }
  }

  /** A folder keeps one version of each key: listed as version "null". */
  async *listVersions(prefix: string): AsyncIterable<ObjectVersion> {
    for await (const o of this.list(prefix)) yield { key: o.key, versionId: "null", deleteMarker: false, size: o.size, isLatest: true, ...(o.lastModified !== undefined ? { lastModified: o.lastModified } : {}) };
  }

  async deleteVersion(key: string, versionId: string): Promise<void> {
    if (versionId === "null") await this.delete(key);
  }

  async ensureBucket(opts: { create?: boolean } = {}): Promise<void> {
    validateBucketName(this.bucket);
    if (opts.create) {
      try {
        await mkdir(this.dir, { recursive: true });
      } catch (err) {
        throw new O3mlError("UNAVAILABLE", `cannot create ${this.dir} for bucket ${this.bucket} at ${this.endpoint} (${(err as Error).message}); make O3ML_ENDPOINT (or O3ML_HOME) a writable folder`, { bucket: this.bucket, endpoint: this.endpoint });
      }
    }
    await this.requireBucket();
  }

  private async requireBucket(): Promise<void> {
    validateBucketName(this.bucket);
    const info = await stat(this.dir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new O3mlError("FAILED_PRECONDITION", `bucket ${this.bucket} does not exist at ${this.endpoint}: create it (o3ml serve --create-bucket) or set O3ML_BUCKET to an existing one`, {
        bucket: this.bucket,
        endpoint: this.endpoint,
      });
    }
  }

  /** What a local directory can do, known without probing. */
  async capabilities(): Promise<Capabilities> {
    this.caps ??= { rangeGet: true, listPagination: true, listStartAfter: true, conditionalPut: true, networkHeaders: false, versioning: false, probedAt: new Date().toISOString() };
    return this.caps;
  }

  close(): void {}

  /** The O3mlError for a failed file operation on `key`: a missing bucket first, then NOT_FOUND, PERMISSION_DENIED or INTERNAL. */
  private async failure(err: unknown, key: string, op: string): Promise<O3mlError> {
    if (err instanceof O3mlError) return err;
    await this.requireBucket();
    const c = code(err);
    if (c === "ENOENT" || c === "ENOTDIR") return new O3mlError("NOT_FOUND", `no object ${JSON.stringify(key)} in bucket ${this.bucket} at ${this.endpoint}`, { key, bucket: this.bucket });
    if (c === "EACCES" || c === "EPERM") return new O3mlError("PERMISSION_DENIED", `cannot ${op} ${JSON.stringify(key)} under ${this.dir}: ${(err as Error).message}`, { key });
    return new O3mlError("INTERNAL", `cannot ${op} ${JSON.stringify(key)} under ${this.dir}: ${(err as Error).message}`, { key });
  }
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function exists(key: string): O3mlError {
  return new O3mlError("ALREADY_EXISTS", `object ${JSON.stringify(key)} already exists`, { key });
}

function cancelledCheck(signal: AbortSignal | undefined, key: string): void {
  if (signal?.aborted) throw new O3mlError("CANCELLED", `upload of ${JSON.stringify(key)} was cancelled`, { key });
}

/** `p`, or CANCELLED as soon as `signal` aborts (a stalled source must not hold a cancelled put). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined, key: string): Promise<T> {
  cancelledCheck(signal, key);
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new O3mlError("CANCELLED", `upload of ${JSON.stringify(key)} was cancelled`, { key }));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener("abort", onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener("abort", onAbort), reject(e)),
    );
  });
}
