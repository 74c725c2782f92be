import { makeGenericClientConstructor, Metadata, type Client, type ClientReadableStream, type ClientWritableStream, type ServiceError } from "@grpc/grpc-js";
import { O3mlError } from "@o3ml/errors";
import { grpcService, MESSAGE_LIMIT_OPTIONS, o3ml } from "@o3ml/proto";
import type { WireDatasetManifest, WireDatasetPushProgress, WireGetBlobResponse as GetBlobResponse, WirePushDatasetResponse, WireVersionInfo } from "./messages.js";
import { serviceChannel } from "./service-address.js";
import { clientTlsFromEnv, type ClientTls } from "./tls.js";

/**
 * Most CIDs one Has call may ask about (BlobService refuses more). Each
 * unknown CID costs a HEAD on the store, so one call must not be able to
 * queue an unbounded number of them; a dataset push asks about one shard at a
 * time.
 */
export const MAX_HAS_CIDS = 1000;

/** Messages as plain objects (messages.ts: Plain): every field present, 64-bit integers as numbers. */
const PLAIN = { longs: Number, defaults: true, arrays: true } as const;
/** A DatasetVersionInfo as it was decoded, as DatasetClient returns it. */
export const plainInfo = (m: unknown) => o3ml.v1.DatasetVersionInfo.toObject(m as o3ml.v1.DatasetVersionInfo, PLAIN) as WireVersionInfo;
/** A DatasetManifest as it was decoded, as DatasetClient returns it (the schema filled in too). */
export const plainManifest = (m: unknown) => {
  const out = o3ml.v1.DatasetManifest.toObject(m as o3ml.v1.DatasetManifest, PLAIN) as WireDatasetManifest;
  out.schema = o3ml.v1.DatasetSchema.toObject(((m as o3ml.v1.DatasetManifest).schema ?? new o3ml.v1.DatasetSchema()) as o3ml.v1.DatasetSchema, PLAIN) as WireDatasetManifest["schema"];
  return out;
};
type Rpc = Client & Record<string, (...a: unknown[]) => unknown>;

const BlobClient = makeGenericClientConstructor(grpcService("BlobService"), "BlobService");
const DatasetsClient = makeGenericClientConstructor(grpcService("DatasetService"), "DatasetService");
const DATA_MESSAGE_BYTES = 2 * 1024 * 1024;

/** A TypeScript client of the BlobService and DatasetService, used by the CLI and tests. */
export class DatasetClient {
  private readonly blobs: Rpc;
  private readonly datasets: Rpc;
  private readonly md = new Metadata();
  readonly address: string;

  /** `address` and `tls` as RpcClient takes them (O3ML_SERVICE and O3ML_TLS_* by default). */
  constructor(address?: string, token = process.env.O3ML_TOKEN, tls: ClientTls | undefined = clientTlsFromEnv()) {
    const { address: given, target, credentials } = serviceChannel(address, tls);
    this.address = given;
    // Manifests travel whole in one message, up to the limit of proto/o3ml/v1/limits.proto.
    this.blobs = new BlobClient(target, credentials, MESSAGE_LIMIT_OPTIONS) as never;
    this.datasets = new DatasetsClient(target, credentials, MESSAGE_LIMIT_OPTIONS) as never;
    if (token) this.md.set("authorization", `Bearer ${token}`);
  }

  /** Streams one blob whose CID and size are known; resolves once the service stored (or already had) it. */
  putBlob(cid: string, size: number, data: AsyncIterable<Uint8Array>, onBytes?: (n: number) => void): Promise<{ deduplicated: boolean }> {
    return new Promise((resolve, reject) => {
      let answered = false;
      const call = this.blobs.put!(this.md, (err: ServiceError | null, res: { deduplicated?: boolean }) => {
        answered = true;
        if (err) reject(this.wrap(err));
        else resolve({ deduplicated: !!res.deduplicated });
      }) as ClientWritableStream<object>;
      (async () => {
        call.write({ header: { cid, size } });
        for await (const piece of data) {
          // The service refused the blob already (wrong size, say): stop reading it.
          if (answered) break;
          for (let off = 0; off < piece.byteLength; off += DATA_MESSAGE_BYTES) {
            const part = piece.subarray(off, off + DATA_MESSAGE_BYTES);
            if (!call.write({ data: part })) await new Promise((r) => call.once("drain", r));
            onBytes?.(part.byteLength);
          }
        }
        call.end();
      })().catch((err) => {
        call.cancel();
        reject(O3mlError.from(err, `put blob ${cid}`));
      });
    });
  }

  /** The blob's bytes, verified by the service before it sends any; `fromStore` skips its cache. */
  async *getBlob(cid: string, opts: { fromStore?: boolean } = {}): AsyncGenerator<Uint8Array> {
    const call = this.blobs.get!({ cid, fromStore: !!opts.fromStore }, this.md) as ClientReadableStream<GetBlobResponse>;
    try {
      for await (const m of call as AsyncIterable<GetBlobResponse>) if (m.data?.byteLength) yield m.data;
    } catch (err) {
      throw this.wrap(err);
    } finally {
      call.cancel();
    }
  }

  /** Whether each blob is stored; asks in batches the service accepts (MAX_HAS_CIDS per call). */
  async has(cids: string[]): Promise<boolean[]> {
    const present: boolean[] = [];
    for (let i = 0; i < cids.length; i += MAX_HAS_CIDS) {
      const batch = cids.slice(i, i + MAX_HAS_CIDS);
      present.push(...((await this.unary<{ present?: boolean[] }>(this.blobs, "has", { cids: batch })).present ?? []));
    }
    return present;
  }
  async fetch(cid: string): Promise<{ path: string; size: number; lease: string }> {
    const r = await this.unary<{ path: string; size: unknown; lease: string }>(this.blobs, "fetch", { cid });
    return { path: r.path, size: Number(r.size), lease: r.lease };
  }
  async release(lease: string): Promise<void> {
    await this.unary(this.blobs, "release", { lease });
  }
  async commit(manifest: o3ml.v1.DatasetManifest.$Properties): Promise<WireVersionInfo> {
    // Commit HEADs every shard; a version of thousands of shards takes a while.
    return plainInfo(await this.unary(this.datasets, "commit", { manifest }, 600_000));
  }
  async resolve(spec: string): Promise<{ info: WireVersionInfo; manifest: WireDatasetManifest }> {
    const res = await this.unary<{ info: unknown; manifest: unknown }>(this.datasets, "resolve", { spec }, 300_000);
    return { info: plainInfo(res.info), manifest: plainManifest(res.manifest) };
  }
  async list(name = ""): Promise<WireVersionInfo[]> {
    return ((await this.unary<{ versions?: unknown[] }>(this.datasets, "list", { name }, 300_000)).versions ?? []).map(plainInfo);
  }
  async delete(name: string, version: string, force = false): Promise<WireVersionInfo> {
    return plainInfo(await this.unary(this.datasets, "delete", { name, version, force }, 300_000));
  }

  /**
   * DatasetService.Push of the options staged in the service's staging
   * directory as file `staged` (only a process on the service's host can
   * stage them): `onProgress` sees each progress message; resolves with the
   * summary, the object `o3ml dataset push --json` prints.
   */
  async push(staged: string, onProgress?: (p: WireDatasetPushProgress) => void): Promise<Record<string, unknown>> {
    const call = this.datasets.push!({ staged }, this.md) as ClientReadableStream<WirePushDatasetResponse>;
    let summary: Record<string, unknown> | undefined;
    try {
      for await (const m of call as AsyncIterable<WirePushDatasetResponse>) {
        if (m.progress) onProgress?.(o3ml.v1.DatasetPushProgress.toObject(m.progress as o3ml.v1.DatasetPushProgress, PLAIN) as WireDatasetPushProgress);
        else if (m.summaryJson) summary = JSON.parse(m.summaryJson) as Record<string, unknown>;
      }
    } catch (err) {
      throw this.wrap(err);
    }
    if (!summary) throw new O3mlError("INTERNAL", `dataset push: the service ended the call without a summary`);
    return summary;
  }

  close(): void {
    this.blobs.close();
    this.datasets.close();
  }

  private unary<Res>(client: Rpc, method: string, req: object, timeoutMs = 60_000): Promise<Res> {
    return new Promise((resolve, reject) => {
      client[method]!(req, this.md, { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, res: Res) => (err ? reject(this.wrap(err)) : resolve(res)));
    });
  }

  private wrap(err: unknown): O3mlError {
    const e = O3mlError.from(err);
    if (e.code === "UNAVAILABLE" && /No connection established|ECONNREFUSED|connect/i.test(e.message)) {
      return new O3mlError("UNAVAILABLE", `cannot reach the o3ml service at ${this.address}: start it with 'o3ml serve' or set O3ML_SERVICE`, {}, { cause: err });
    }
    return e;
  }
}
