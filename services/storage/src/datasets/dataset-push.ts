import { isAbsolute } from "node:path";
import type { ServerWritableStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import { plainDatasetManifest, plainVersionInfo } from "@o3ml/client";
import { parsePushOptions, pushDataset, type DatasetStore, type PushOptions, type PushProgress } from "@o3ml/datasets";
import { O3mlError } from "@o3ml/errors";
import { mapLimit, type BlobStore } from "@o3ml/o3-client";
import { o3ml } from "@o3ml/proto";
import type { KnownBlobs } from "@o3ml/repository";
import type { Host } from "../colocation/host.js";
import { serverStream, writeMessage, type RpcContext } from "../rpc-handlers.js";
import { HAS_CONCURRENCY } from "./blob-service.js";
import type { DatasetRepository } from "./dataset-repository.js";
import { manifestFromWire } from "./dataset-service.js";
import { putVerified } from "./verified-upload.js";

type Request = o3ml.v1.PushDatasetRequest.$Properties;
type Response = o3ml.v1.PushDatasetResponse.$Properties;

/** Most bytes of a staged PushDatasetOptions: a path, a name and a few short options. */
const OPTIONS_MAX_BYTES = 64 * 1024;
/** Progress of one phase is sent at most this often (and at its start and end). */
const PROGRESS_EVERY_MS = 250;

export interface DatasetPushDeps {
  repo: DatasetRepository;
  store: BlobStore;
  known: KnownBlobs;
  host: Host;
  ctx: RpcContext;
}

/**
 * DatasetService.Push: the service runs `o3ml dataset push`'s pushDataset
 * (packages/datasets) itself, over an in-process DatasetStore, for a caller
 * on its own host. Its options come from a staged file, so that only a
 * process that can write into the staging directory (the service's user, on
 * its host, who could read the input itself) makes the service read a path.
 */
export function datasetPushService(d: DatasetPushDeps): UntypedServiceImplementation {
  return {
    push: serverStream(d.ctx, "DatasetPush", async (req: Request, call: ServerWritableStream<Request, Response>) => {
      const options = await readStagedOptions(d.host, req.staged ?? "");
      const cancelled = () => call.cancelled;
      const summary = await pushDataset(localDatasetStore(d, cancelled), options, streamedProgress(call));
      await writeMessage(call, { summaryJson: JSON.stringify(summary) });
    }),
  };
}

/**
 * The push's options from staged file `name`, checked as the CLI checks its
 * own (parsePushOptions). The file is deleted once read, whatever follows.
 */
async function readStagedOptions(host: Host, name: string): Promise<PushOptions> {
  const staging = await host.staging().catch((err: unknown) => {
    throw new O3mlError(
      "FAILED_PRECONDITION",
      `dataset push: the service's staging directory cannot be opened (${(err as Error).message}); nothing was pushed — push with 'o3ml dataset push' instead`,
    );
  });
  let bytes: Buffer;
  try {
    const f = await staging.openStaged(name, "dataset push").catch((err: unknown) => {
      const e = O3mlError.from(err);
      // openStaged speaks of saves; a push is not saved again but staged anew.
      if (e.code === "INVALID_ARGUMENT") throw e;
      throw new O3mlError(e.code, `${e.message.replace(/; nothing was committed.*$/s, "")}; nothing was pushed — stage the options again`);
    });
    try {
      const buf = Buffer.alloc(OPTIONS_MAX_BYTES + 1);
      const { bytesRead } = await f.read(buf, 0, buf.length, 0);
      if (bytesRead > OPTIONS_MAX_BYTES) {
        throw new O3mlError("INVALID_ARGUMENT", `dataset push: staged file ${name} holds more than ${OPTIONS_MAX_BYTES} bytes; it must hold only an encoded PushDatasetOptions; nothing was pushed`);
      }
      bytes = buf.subarray(0, bytesRead);
    } finally {
      await f.close();
    }
  } finally {
    await staging.remove(name);
  }
  let o: o3ml.v1.PushDatasetOptions;
  try {
    o = o3ml.v1.PushDatasetOptions.decode(bytes);
  } catch (err) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `dataset push: staged file ${name} does not hold an encoded PushDatasetOptions (${(err as Error).message}); write one (proto/o3ml/v1/blob_service.proto) and stage it again; nothing was pushed`,
    );
  }
  if (!o.path || !isAbsolute(o.path)) {
    throw new O3mlError("INVALID_ARGUMENT", `dataset push: the input path ${JSON.stringify(o.path)} is not absolute; give the absolute path of the folder, array or table on the service's host; nothing was pushed`);
  }
  if (!o.name) throw new O3mlError("INVALID_ARGUMENT", `dataset push: no dataset name; give one, e.g. mnist or vision/cifar10; nothing was pushed`);
  return parsePushOptions({ path: o.path, name: o.name, version: o.version, shardSize: o.shardSize, split: o.split, seed: o.seed, shuffle: !o.noShuffle, kind: o.kind });
}

/** `value` as it is after being encoded and decoded as message `type`: what the other side of a gRPC call sees of it. */
function overTheWire<T>(type: { encode(v: never): { finish(): Uint8Array }; decode(b: Uint8Array): T }, value: unknown): T {
  return type.decode(type.encode(value as never).finish());
}

/**
 * The five calls of a push, in process: `list`, `resolve` and `commit`
 * through the repository, `has` through the known blobs, `putBlob` through
 * the verified upload, as the handlers of the DatasetService and the
 * BlobService make them. What they return has the shapes DatasetClient gives
 * (each message passed through its encoding, then made plain as the client
 * does), so a push through the service writes the manifest a push through
 * DatasetClient writes. Once the caller has gone away, every call fails:
 * nothing is committed for a push no one waits for.
 */
function localDatasetStore(d: Pick<DatasetPushDeps, "repo" | "store" | "known">, cancelled: () => boolean): DatasetStore {
  const live = () => {
    if (cancelled()) throw new O3mlError("CANCELLED", "dataset push: the client cancelled the call; nothing was committed");
  };
  const info = (i: unknown) => plainVersionInfo(overTheWire(o3ml.v1.DatasetVersionInfo, i));
  return {
    async list(name) {
      live();
      return (await d.repo.list(name)).map(info);
    },
    async resolve(spec) {
      live();
      const r = await d.repo.resolve(spec);
      return { info: info(r.info), manifest: plainDatasetManifest(overTheWire(o3ml.v1.DatasetManifest, r.manifest)) };
    },
    async has(cids) {
      live();
      return mapLimit(cids, HAS_CONCURRENCY, (cid) => {
        live();
        return d.known.has(cid);
      });
    },
    async putBlob(cid, size, data, onBytes) {
      live();
      async function* counted(): AsyncGenerator<Uint8Array> {
        for await (const piece of data) {
          yield piece;
          onBytes?.(piece.byteLength);
        }
      }
      return putVerified(d.store, d.known, { cid, size }, counted(), live);
    },
    async commit(manifest) {
      live();
      return info(await d.repo.commit(manifestFromWire(overTheWire(o3ml.v1.DatasetManifest, manifest))));
    },
  };
}

/** pushDataset's progress as progress messages: each phase at its start, at most every PROGRESS_EVERY_MS while it runs, and at its end. */
function streamedProgress(call: ServerWritableStream<Request, Response>): PushProgress {
  return {
    start(phase, total) {
      let done = 0;
      let last = Date.now();
      // Not awaited: progress must never slow the push; at this rate a slow reader buffers a few small messages.
      const send = () => void (call.cancelled || call.write({ progress: { phase, doneBytes: done, totalBytes: total } }));
      send();
      return {
        tick(n) {
          done += n;
          const now = Date.now();
          if (now - last >= PROGRESS_EVERY_MS) {
            last = now;
            send();
          }
        },
        stop: send,
      };
    },
  };
}
