import type { ClientReadableStream, ClientWritableStream, ServiceError } from "@grpc/grpc-js";
import { O3mlError } from "@o3ml/errors";
import { createReadStream } from "node:fs";
import { open, unlink, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { refusedElsewhere, stageFile } from "./colocation.js";
import type { WireGetResponse as GetResponse, WireLocateObjectResponse as LocateResponse, WireObjectInfo, WirePutResponse as PutResponse } from "./messages.js";
import { RpcClient } from "./rpc-client.js";
import type { ClientTls } from "./tls.js";

/** Below this size a stream costs no more than a staged file (create, write, unlink); as in Python. */
const STAGE_MIN_BYTES = 1024 * 1024;

type PutOptions = { size?: number; sha256?: () => string; contentType?: string; labels?: Record<string, string>; ifAbsent?: boolean };

function headerOf(key: string, opts: PutOptions): object {
  return { key, contentType: opts.contentType ?? "", labels: opts.labels ?? {}, expectedSize: opts.size ?? 0, hasExpectedSize: opts.size !== undefined, ifAbsent: !!opts.ifAbsent };
}

/** A thin TypeScript client of the ObjectService, used by the CLI and benchmarks. */
export class ServiceClient extends RpcClient {
  /** `tls` defaults to O3ML_TLS_CA / O3ML_TLS_CERT / O3ML_TLS_KEY; plaintext when none is set. */
  constructor(address?: string, token?: string, tls?: ClientTls) {
    super("ObjectService", address, token, tls);
  }

  stat(key: string): Promise<WireObjectInfo> {
    return this.unary("stat", { key });
  }
  delete(key: string): Promise<{ existed: boolean }> {
    return this.unary("delete", { key });
  }
  /** Gives `destination` the value `source` has now, on the service's side: no byte is transferred. */
  copy(source: string, destination: string): Promise<WireObjectInfo> {
    return this.unary("copy", { source, destination });
  }
  list(prefix: string, pageSize: number, pageToken: string): Promise<{ objects: WireObjectInfo[]; nextPageToken: string }> {
    return this.unary("list", { prefix, pageSize, pageToken });
  }
  async *listAll(prefix: string): AsyncGenerator<WireObjectInfo> {
    let token = "";
    do {
      const page = await this.list(prefix, 1000, token);
      yield* page.objects;
      token = page.nextPageToken;
    } while (token);
  }

  /**
   * Stores `data` as one object; `size` (when known) lets the service check it got all of it. On
   * the service's host (colocation.ts), an object of at least STAGE_MIN_BYTES is written into a
   * file of the service's staging directory and named in the Put call, as
   * python-plugins/src/o3ml/_located_objects.py does; otherwise it streams through gRPC.
   */
  async put(key: string, data: AsyncIterable<Uint8Array>, opts: PutOptions = {}): Promise<PutResponse> {
    if (opts.size !== undefined && opts.size >= STAGE_MIN_BYTES) {
      const found = await this.colocated();
      if ("stagingDir" in found) {
        const staged = await stageFile(found.stagingDir);
        if (staged) return this.putStaged(key, data, opts, staged);
      }
    }
    return this.putStreamed(key, data, opts);
  }

  private putStreamed(key: string, data: AsyncIterable<Uint8Array>, opts: PutOptions): Promise<PutResponse> {
    return new Promise((resolve, reject) => {
      const call = this.client.put!(this.md, (err: ServiceError | null, res: PutResponse) => (err ? reject(this.wrap(err)) : resolve(res))) as ClientWritableStream<object>;
      (async () => {
        call.write({ header: headerOf(key, opts) });
        for await (const piece of data) {
          for (let off = 0; off < piece.byteLength; off += 2 * 1024 * 1024) {
            if (!call.write({ data: piece.subarray(off, off + 2 * 1024 * 1024) })) await new Promise((r) => call.once("drain", r));
          }
        }
        if (opts.sha256) call.write({ trailer: { sha256: opts.sha256() } });
        call.end();
      })().catch((err) => {
        call.cancel();
        reject(O3mlError.from(err, `put ${key}`));
      });
    });
  }

  /**
   * `data` written into the staged file, then a Put that names it; streamed from that file when the
   * service on the address turns out not to be the one that took the handshake. The file is removed
   * whatever happens (the service removes it too).
   */
  private async putStaged(key: string, data: AsyncIterable<Uint8Array>, opts: PutOptions, staged: { path: string; name: string; file: FileHandle }): Promise<PutResponse> {
    try {
      try {
        for await (const piece of data) {
          for (let at = 0; at < piece.byteLength; ) at += (await staged.file.write(piece, at, piece.byteLength - at)).bytesWritten;
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOSPC" || code === "EDQUOT") {
          throw new O3mlError("RESOURCE_EXHAUSTED", `put ${key}: the service's staging directory ${dirname(staged.path)} is full; free space there, or set O3ML_COLOCATE=0 to stream through gRPC`, { key }, { cause: err });
        }
        throw O3mlError.from(err, `put ${key}`);
      } finally {
        await staged.file.close();
      }
      // Taken once: the callback may be a hash's digest(), which gives its value one time only.
      const sha256 = opts.sha256?.();
      const claimed: PutOptions = { ...opts, sha256: sha256 === undefined ? undefined : () => sha256 };
      try {
        return await new Promise<PutResponse>((resolve, reject) => {
          const call = this.client.put!(this.md, (err: ServiceError | null, res: PutResponse) => (err ? reject(this.wrap(err)) : resolve(res))) as ClientWritableStream<object>;
          call.write({ header: { ...headerOf(key, claimed), staged: staged.name } });
          if (sha256 !== undefined) call.write({ trailer: { sha256 } });
          call.end();
        });
      } catch (err) {
        if (!refusedElsewhere(err, staged.path)) throw err;
        // Another service than the one that took the handshake: the bytes, already in the
        // staged file, are streamed from it, and the next put shakes hands again.
        this.forgetColocation();
        return await this.putStreamed(key, createReadStream(staged.path, { highWaterMark: 2 * 1024 * 1024 }), claimed);
      }
    } finally {
      await unlink(staged.path).catch(() => undefined);
    }
  }

  /**
   * The object's info, then its bytes; `fromStore` makes the service re-read the manifest from the
   * bucket. On the service's host (colocation.ts) a whole object is read from the verified
   * host-cache files the service names (getLocated); elsewhere, and for a range, it streams.
   */
  async get(key: string, offset = 0, length = 0, opts: { fromStore?: boolean } = {}): Promise<{ info: WireObjectInfo; data: AsyncIterable<Uint8Array> }> {
    if (offset === 0 && length === 0 && !opts.fromStore && "stagingDir" in (await this.colocated())) {
      const located = await this.getLocated(key);
      if (located) return located;
    }
    return this.getStreamed(key, offset, length, opts);
  }

  private async getStreamed(key: string, offset: number, length: number, opts: { fromStore?: boolean }): Promise<{ info: WireObjectInfo; data: AsyncIterable<Uint8Array> }> {
    const call = this.client.get!({ key, offset, length, fromStore: !!opts.fromStore }, this.md) as ClientReadableStream<GetResponse>;
    const it = call[Symbol.asyncIterator]() as AsyncIterator<GetResponse>;
    const first = await it.next().catch((err) => Promise.reject(this.wrap(err)));
    if (first.done || !first.value.info) throw new O3mlError("INTERNAL", `get ${key}: the service sent no object info`);
    const wrap = this.wrap.bind(this);
    async function* data(): AsyncGenerator<Uint8Array> {
      try {
        for (let r = await it.next(); !r.done; r = await it.next()) if (r.value.data) yield r.value.data;
      } catch (err) {
        throw wrap(err);
      }
    }
    return { info: first.value.info as WireObjectInfo, data: data() };
  }

  /**
   * A whole object from the service's host-cache files (ObjectService.Locate), each verified by
   * the service right before it named it, as python-plugins/src/o3ml/_located_objects.py reads
   * them; undefined from a service without Locate. A file that no longer holds what was named
   * (evicted and replaced meanwhile) ends the located read there: the rest streams through Get
   * from that offset, and only from the same version of the object.
   */
  private async getLocated(key: string): Promise<{ info: WireObjectInfo; data: AsyncIterable<Uint8Array> } | undefined> {
    const call = this.client.locate!({ key }, this.md) as ClientReadableStream<LocateResponse>;
    const it = call[Symbol.asyncIterator]() as AsyncIterator<LocateResponse>;
    let first: IteratorResult<LocateResponse>;
    try {
      first = await it.next();
    } catch (err) {
      call.cancel();
      const e = this.wrap(err);
      if (e.code === "UNIMPLEMENTED") return undefined;
      throw e;
    }
    const named = first.done ? undefined : (first.value.info as WireObjectInfo | null | undefined);
    if (!named) {
      call.cancel();
      throw new O3mlError("INTERNAL", `get ${key}: the service sent no object info`);
    }
    const info: WireObjectInfo = named;
    const size = Number(info.size);
    const self = this;
    async function* data(): AsyncGenerator<Uint8Array> {
      let at = 0;
      try {
        for (let r = await it.next(); !r.done; r = await it.next()) {
          const blob = r.value.blob;
          if (!blob) throw new O3mlError("INTERNAL", `get ${key}: the service sent a message without a blob`);
          const bytes = blob.path ? await readNamed(blob.path, Number(blob.size)) : (blob.data ?? new Uint8Array(0));
          if (bytes === undefined) {
            call.cancel();
            yield* await self.rest(key, info, at);
            return;
          }
          if (at + bytes.byteLength > size) throw new O3mlError("INTERNAL", `get ${key}: the service named more than the object's ${size} bytes`);
          at += bytes.byteLength;
          yield bytes;
        }
      } catch (err) {
        throw self.wrap(err);
      } finally {
        call.cancel();
      }
      if (at !== size) throw new O3mlError("INTERNAL", `get ${key}: the service named ${at} of the object's ${size} bytes`);
    }
    return { info, data: data() };
  }

  /** The bytes of `key` from `offset` on, streamed, from the version `info` describes. */
  private async rest(key: string, info: WireObjectInfo, offset: number): Promise<AsyncIterable<Uint8Array>> {
    const now = await this.getStreamed(key, offset, 0, {});
    if (now.info.cid !== info.cid) throw new O3mlError("ABORTED", `get ${key}: the object was replaced while it was read; get it again`, { key });
    return now.data;
  }
}

/** The whole file at `path` when it holds exactly `size` bytes; undefined when it no longer does. */
async function readNamed(path: string, size: number): Promise<Uint8Array | undefined> {
  let file;
  try {
    file = await open(path, "r");
  } catch {
    return undefined;
  }
  try {
    if ((await file.stat()).size !== size) return undefined;
    const out = Buffer.allocUnsafe(size);
    for (let at = 0; at < size; ) {
      const { bytesRead } = await file.read(out, at, size - at, at);
      if (bytesRead === 0) return undefined;
      at += bytesRead;
    }
    return out;
  } finally {
    await file.close();
  }
}
