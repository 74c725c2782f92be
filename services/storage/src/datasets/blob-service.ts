import { createReadStream } from "node:fs";
import type { ServerReadableStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import { MAX_HAS_CIDS } from "@o3ml/client";
import { O3mlError } from "@o3ml/errors";
import { parseCid } from "@o3ml/integrity";
import { mapLimit, type BlobStore } from "@o3ml/o3-client";
import type { o3ml } from "@o3ml/proto";
import type { KnownBlobs } from "@o3ml/repository";
import { clientStream, serverStream, unary, writeMessage, type RpcContext } from "../rpc-handlers.js";
import type { BlobLeases } from "./blob-leases.js";
import type { CachedBlobs } from "./cached-blobs.js";
import { putVerified } from "./verified-upload.js";

type V1 = typeof o3ml.v1;
type PutBlobRequest = InstanceType<V1["PutBlobRequest"]>;

/** Largest data payload in one Get response message. */
const GET_MESSAGE_BYTES = 2 * 1024 * 1024;

/** HEADs one Has call (or one push's `has`, dataset-push.ts) keeps in flight. */
export const HAS_CONCURRENCY = 16;

export interface BlobServiceDeps {
  store: BlobStore;
  known: KnownBlobs;
  blobs: CachedBlobs;
  leases: BlobLeases;
  ctx: RpcContext;
}

/** The BlobService handlers: blobs by CID, verified on the way in and on the way out. */
export function blobService({ store, known, blobs, leases, ctx }: BlobServiceDeps): UntypedServiceImplementation {
  return {
    put: clientStream(ctx, "BlobPut", async (call: ServerReadableStream<PutBlobRequest, unknown>) => {
      const it = call[Symbol.asyncIterator]() as AsyncIterator<PutBlobRequest>;
      const first = await it.next();
      if (first.done || !first.value.header) {
        throw new O3mlError("INVALID_ARGUMENT", "a BlobService.Put stream must start with a header message {cid, size}");
      }
      const header = { cid: first.value.header.cid ?? "", size: Number(first.value.header.size ?? 0) };
      async function* data(): AsyncGenerator<Uint8Array> {
        for (let r = await it.next(); !r.done; r = await it.next()) {
          if (r.value.header) throw new O3mlError("INVALID_ARGUMENT", `put blob ${header.cid}: a second header in one stream`);
          if (r.value.data) yield r.value.data;
        }
      }
      const res = await putVerified(store, known, header, data(), () => {
        // A cancelled call also ends the message stream: what arrived may be a prefix.
        if (call.cancelled) throw new O3mlError("ABORTED", `put blob ${header.cid}: the client went away mid-stream; nothing was stored`);
      });
      return { cid: header.cid, deduplicated: res.deduplicated };
    }),

    get: serverStream(ctx, "BlobGet", async (req: InstanceType<V1["GetBlobRequest"]>, call) => {
      const lease = await blobs.acquire(req.cid ?? "", !!req.fromStore);
      try {
        // The entry was verified when cached (or re-hashed on first use here): no byte is sent unverified.
        for await (const chunk of createReadStream(lease.path, { highWaterMark: GET_MESSAGE_BYTES })) {
          await writeMessage(call, { data: chunk as Buffer });
        }
      } finally {
        await lease.release();
      }
    }),

    has: unary(ctx, "BlobHas", async (req: InstanceType<V1["HasBlobsRequest"]>, call) => {
      const cids = req.cids ?? [];
      if (cids.length > MAX_HAS_CIDS) {
        throw new O3mlError("INVALID_ARGUMENT", `BlobService.Has: ${cids.length} CIDs in one call, at most ${MAX_HAS_CIDS} are allowed; ask in batches of ${MAX_HAS_CIDS} (nothing was looked up)`);
      }
      for (const cid of cids) parseCid(cid);
      return {
        present: await mapLimit(cids, HAS_CONCURRENCY, (cid) => {
          // A CID not known yet costs the store a HEAD: issue no more once the caller has gone away.
          if (call.cancelled) throw new O3mlError("CANCELLED", `BlobService.Has: the client cancelled the call; the remaining CIDs were not looked up`);
          return known.has(cid);
        }),
      };
    }),

    fetch: unary(ctx, "BlobFetch", async (req: InstanceType<V1["FetchBlobRequest"]>) => {
      const lease = await blobs.acquire(req.cid ?? "");
      return { path: lease.path, size: lease.size, lease: leases.add(lease) };
    }),

    release: unary(ctx, "BlobRelease", async (req: InstanceType<V1["ReleaseBlobRequest"]>) => {
      await leases.release(req.lease ?? "");
      return {};
    }),
  };
}
