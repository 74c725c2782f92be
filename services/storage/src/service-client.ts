import { credentials, makeGenericClientConstructor, Metadata, type Client, type ClientReadableStream, type ClientWritableStream, type ServiceError } from "@grpc/grpc-js";
import { O3mlError } from "@o3ml/errors";
import { grpcService, type o3ml } from "@o3ml/proto";

type V1 = typeof o3ml.v1;
export type WireObjectInfo = InstanceType<V1["ObjectInfo"]>;
type PutResponse = InstanceType<V1["PutResponse"]>;
type GetResponse = InstanceType<V1["GetResponse"]>;

const ObjectClient = makeGenericClientConstructor(grpcService("ObjectService"), "ObjectService");

/** A thin TypeScript client of the ObjectService, used by the CLI and benchmarks. */
export class ServiceClient {
  private readonly client: Client & Record<string, (...a: unknown[]) => unknown>;
  private readonly md: Metadata;

  constructor(
    readonly address = process.env.O3ML_SERVICE ?? "127.0.0.1:7433",
    token = process.env.O3ML_TOKEN,
  ) {
    const max = 8 * 1024 * 1024;
    this.client = new ObjectClient(address, credentials.createInsecure(), {
      "grpc.max_receive_message_length": max,
      "grpc.max_send_message_length": max,
    }) as never;
    this.md = new Metadata();
    if (token) this.md.set("authorization", `Bearer ${token}`);
  }

  private unary<Res>(method: string, req: object): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.client[method]!(req, this.md, { deadline: Date.now() + 60_000 }, (err: ServiceError | null, res: Res) =>
        err ? reject(this.wrap(err)) : resolve(res),
      );
    });
  }

  stat(key: string): Promise<WireObjectInfo> {
    return this.unary("stat", { key });
  }
  delete(key: string): Promise<{ existed: boolean }> {
    return this.unary("delete", { key });
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
  put(key: string, data: AsyncIterable<Uint8Array>, opts: { size?: number; sha256?: () => string; contentType?: string } = {}): Promise<PutResponse> {
    return new Promise((resolve, reject) => {
      const call = this.client.put!(this.md, (err: ServiceError | null, res: PutResponse) => (err ? reject(this.wrap(err)) : resolve(res))) as ClientWritableStream<object>;
      (async () => {
        call.write({ header: { key, contentType: opts.contentType ?? "", expectedSize: opts.size ?? 0, hasExpectedSize: opts.size !== undefined } });
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

  /** The object's info, then its bytes. */
  async get(key: string, offset = 0, length = 0): Promise<{ info: WireObjectInfo; data: AsyncIterable<Uint8Array> }> {
    const call = this.client.get!({ key, offset, length }, this.md) as ClientReadableStream<GetResponse>;
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

  close(): void {
    this.client.close();
  }

  private wrap(err: unknown): O3mlError {
    const e = O3mlError.from(err);
    if (e.code === "UNAVAILABLE" && /No connection established|ECONNREFUSED|connect/i.test(e.message)) {
      return new O3mlError("UNAVAILABLE", `cannot reach the o3ml service at ${this.address}: start it with 'npx o3ml serve' or set O3ML_SERVICE`, {}, { cause: err });
    }
    return e;
  }
}
