import type { ServerReadableStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import { checkContentType, checkLabels } from "./labels.js";
import { O3mlError } from "@o3ml/errors";
import { MAX_DATA_MESSAGE_BYTES, type o3ml } from "@o3ml/proto";
import type { Host } from "./colocation/host.js";
import type { ObjectInfo, ObjectRepository, PutHeader } from "./object-repository.js";
import { clientStream, serverStream, unary, writeMessage, type RpcContext } from "./rpc-handlers.js";

type V1 = typeof o3ml.v1;
type PutRequest = InstanceType<V1["PutRequest"]>;

/**
 * Largest data payload in one Get response message. grpc-js queues up to 16
 * messages per call before signalling backpressure, so this also bounds what
 * a slow reader can make the service hold: 16 MiB per stream.
 */
const GET_MESSAGE_BYTES = 1024 * 1024;

/**
 * A staged put: the bytes are in a file of the staging directory; the stream
 * must carry no data. The file is deleted when the put ends, whatever the outcome.
 */
async function putStaged(
  repo: ObjectRepository,
  host: Host,
  header: PutHeader,
  name: string,
  data: AsyncIterable<Uint8Array>,
  complete: () => { sha256?: string },
) {
  const staging = await host.staging();
  try {
    const file = await staging.openStaged(name, `put ${header.key}`);
    try {
      return await repo.putStaged(header, file, host.hashes, async () => {
        for await (const piece of data) {
          if (piece.byteLength > 0) throw new O3mlError("INVALID_ARGUMENT", `put ${header.key}: a data message in a staged put (the bytes are in the staged file); nothing was committed`, { key: header.key });
        }
        return complete();
      }, (cid, digest, bytes) => host.keep(cid, digest, bytes));
    } finally {
      await file.close();
    }
  } finally {
    await staging.remove(name);
  }
}

/** The ObjectService handlers: plain async functions over the repository. */
export function objectService(repo: ObjectRepository, host: Host, ctx: RpcContext): UntypedServiceImplementation {
  return {
    put: clientStream(ctx, "Put", async (call: ServerReadableStream<PutRequest, unknown>) => {
      const it = call[Symbol.asyncIterator]() as AsyncIterator<PutRequest>;
      const first = await it.next();
      if (first.done || !first.value.header) {
        throw new O3mlError("INVALID_ARGUMENT", "a Put stream must start with a header message naming the key");
      }
      const h = first.value.header;
      const header: PutHeader = {
        key: h.key ?? "",
        contentType: checkContentType(h.contentType, `put ${h.key ?? ""}`),
        labels: checkLabels(h.labels, `put ${h.key ?? ""}`),
        expectedSize: declaredSize(h),
        ifAbsent: !!h.ifAbsent,
      };
      let trailer: string | undefined;
      async function* data(): AsyncGenerator<Uint8Array> {
        for (let r = await it.next(); !r.done; r = await it.next()) {
          const m = r.value;
          if (trailer !== undefined) throw new O3mlError("INVALID_ARGUMENT", `put ${header.key}: data after the trailer`);
          if (m.data && m.data.byteLength > MAX_DATA_MESSAGE_BYTES) {
            throw new O3mlError("RESOURCE_EXHAUSTED", `put ${header.key}: a data message of ${m.data.byteLength} bytes is over the limit of ${MAX_DATA_MESSAGE_BYTES / (1024 * 1024)} MiB; send at most that per message`, { key: header.key });
          }
          if (m.data) yield m.data;
          else if (m.trailer) trailer = m.trailer.sha256 ?? "";
          else if (m.header) throw new O3mlError("INVALID_ARGUMENT", `put ${header.key}: a second header in one stream`);
        }
      }
      const complete = () => {
        // A cancelled call also ends the message stream: never commit what may be a prefix.
        if (call.cancelled) throw new O3mlError("ABORTED", `put ${header.key}: the client went away mid-stream; nothing was committed`);
        return { sha256: trailer || undefined };
      };
      const res = h.staged ? await putStaged(repo, host, header, h.staged, data(), complete) : await repo.put(header, data(), complete);
      return { info: wireInfo(res.info), bytesUploaded: res.bytesUploaded, bytesDeduplicated: res.bytesDeduplicated };
    }),

    get: serverStream(ctx, "Get", async (req: InstanceType<V1["GetRequest"]>, call) => {
      const { info, data } = await repo.get(req.key ?? "", Number(req.offset ?? 0), Number(req.length ?? 0), { fromStore: !!req.fromStore });
      await writeMessage(call, { info: wireInfo(info) });
      for await (const chunk of data) {
        for (let off = 0; off < chunk.byteLength; off += GET_MESSAGE_BYTES) {
          await writeMessage(call, { data: chunk.subarray(off, Math.min(chunk.byteLength, off + GET_MESSAGE_BYTES)) });
        }
      }
    }),

    locate: serverStream(ctx, "Locate", async (req: InstanceType<V1["GetRequest"]>, call) => {
      if (Number(req.offset ?? 0) !== 0 || Number(req.length ?? 0) !== 0 || req.fromStore) {
        throw new O3mlError("INVALID_ARGUMENT", `locate ${req.key ?? ""}: only whole objects are located; read a range (or from_store) with Get`);
      }
      const { info, blobs } = await repo.locate(req.key ?? "", host);
      try {
        await writeMessage(call, { info: wireInfo(info) });
        for await (const blob of blobs) {
          await writeMessage(call, { blob: blob instanceof Uint8Array ? { data: blob } : { path: blob.path, size: blob.size } });
        }
      } finally {
        await blobs.return(undefined);
      }
    }),

    // Asking whether a key exists is routine (Lightning's ModelCheckpoint does before every save), so NOT_FOUND is no warning.
    stat: unary(ctx, "Stat", async (req: InstanceType<V1["StatRequest"]>) => wireInfo(await repo.stat(req.key ?? "")), { expected: ["NOT_FOUND"] }),

    list: unary(ctx, "List", async (req: InstanceType<V1["ListRequest"]>) => {
      const page = await repo.list(req.prefix ?? "", req.pageSize ?? 0, req.pageToken ? decodeToken(req.pageToken) : undefined);
      return { objects: page.objects.map(wireInfo), nextPageToken: page.next === undefined ? "" : encodeToken(page.next) };
    }),

    delete: unary(ctx, "Delete", async (req: InstanceType<V1["DeleteRequest"]>) => ({ existed: await repo.delete(req.key ?? "") })),

    copy: unary(ctx, "Copy", async (req: InstanceType<V1["CopyRequest"]>) => wireInfo(await repo.copy(req.source ?? "", req.destination ?? ""))),
  };
}

/**
 * The size a Put header declares, as the contract says: set when
 * `expected_size` > 0 or `has_expected_size` is true (the flag is how a client
 * declares an empty object); undefined when the client did not say.
 */
function declaredSize(h: o3ml.v1.PutHeader.$Properties): number | undefined {
  const size = Number(h.expectedSize ?? 0);
  return h.hasExpectedSize || size > 0 ? size : undefined;
}

function wireInfo(i: ObjectInfo) {
  return { ...i, createdUnixMs: i.createdUnixMs };
}

// Page tokens are opaque to clients: the last key of the page, base64url.
const encodeToken = (key: string) => Buffer.from(key).toString("base64url");
function decodeToken(token: string): string {
  const key = Buffer.from(token, "base64url").toString();
  if (!key) throw new O3mlError("INVALID_ARGUMENT", "malformed page token; pass back next_page_token unchanged");
  return key;
}
