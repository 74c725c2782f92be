import type { ClientReadableStream, ClientWritableStream, ServiceError } from "@grpc/grpc-js";
import { O3mlError } from "@o3ml/errors";
import type { WireGetResponse as GetResponse, WireObjectInfo, WirePutResponse as PutResponse } from "./messages.js";
import { RpcClient } from "./rpc-client.js";
import type { ClientTls } from "./tls.js";

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

  /** Streams `data` as one object; `size` (when known) lets the service check the stream is complete. */
  put(key: string, data: AsyncIterable<Uint8Array>, opts: { size?: number; sha256?: () => string; contentType?: string; labels?: Record<string, string>; ifAbsent?: boolean } = {}): Promise<PutResponse> {
    return new Promise((resolve, reject) => {
      const call = this.client.put!(this.md, (err: ServiceError | null, res: PutResponse) => (err ? reject(this.wrap(err)) : resolve(res))) as ClientWritableStream<object>;
      (async () => {
        call.write({ header: { key, contentType: opts.contentType ?? "", labels: opts.labels ?? {}, expectedSize: opts.size ?? 0, hasExpectedSize: opts.size !== undefined, ifAbsent: !!opts.ifAbsent } });
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

  /** The object's info, then its bytes; `fromStore` makes the service re-read the manifest from the bucket. */
  async get(key: string, offset = 0, length = 0, opts: { fromStore?: boolean } = {}): Promise<{ info: WireObjectInfo; data: AsyncIterable<Uint8Array> }> {
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
}
