import { Readable } from "node:stream";
import { AbortMultipartUploadCommand, UploadPartCommand, PutObjectCommand, type PutObjectCommandInput, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { O3mlError } from "@o3ml/errors";
import { s3Call, type S3Target } from "./s3-target.js";

/** Akave's (and S3's) smallest part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

export interface MultipartOptions {
  partSize: number;
  /** Parts in flight at once; memory is bounded by queueSize × partSize. */
  queueSize: number;
  signal?: AbortSignal;
  onProgress?: (sentBytes: number) => void;
}

/**
 * Uploads `body` with lib-storage's Upload: parts of `partSize` bytes sent by
 * `queueSize` workers, or one PutObject when the body fits in one part.
 *
 * The contract on failure is stronger than Upload's own: when this rejects,
 * no multipart upload is left behind. Upload.done() rejects as soon as it is
 * aborted, while parts may still be in flight and before its own
 * AbortMultipartUpload was sent; so this waits for every worker to settle and
 * then aborts the upload itself (a second abort of the same upload is
 * ignored). The first failed part aborts the others at once instead of
 * letting them upload the rest of the body first.
 */
export async function uploadMultipart(
  target: S3Target,
  params: Omit<PutObjectCommandInput, "Body">,
  body: Uint8Array | AsyncIterable<Uint8Array>,
  opts: MultipartOptions,
): Promise<void> {
  const key = params.Key ?? "";
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  if (opts.signal?.aborted) controller.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  let failure: unknown;
  const upload = new Upload({
    client: cancellableClient(target.client, controller, (err) => {
      failure ??= err;
      controller.abort();
    }),
    params: { ...params, Body: body instanceof Uint8Array ? body : Readable.from(abortable(body, controller.signal), { objectMode: false }) },
    partSize: opts.partSize,
    queueSize: opts.queueSize,
    leavePartsOnError: false,
    abortController: controller,
  });
  const onProgress = opts.onProgress;
  if (onProgress) upload.on("httpUploadProgress", (p) => onProgress(p.loaded ?? 0));
  try {
    await upload.done();
  } catch (err) {
    controller.abort();
    // Upload keeps its workers private; they only resolve (failures are collected), never reject.
    await Promise.all((upload as unknown as { concurrentUploaders: Promise<void>[] }).concurrentUploaders);
    if (upload.uploadId) await abortUpload(target, key, upload.uploadId);
    if (failure === undefined && opts.signal?.aborted) throw new O3mlError("CANCELLED", `upload of ${JSON.stringify(key)} was cancelled`, { key });
    throw failure ?? err;
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * The client as Upload sees it: part uploads carry the upload's abort signal
 * (so aborting cancels them mid-flight) and report their failure. Create,
 * Complete and Abort run to the end: cancelling one of those could leave an
 * upload on the server whose fate this side no longer knows.
 */
function cancellableClient(client: S3Client, controller: AbortController, onPartFailure: (err: unknown) => void): S3Client {
  const view = Object.create(client) as S3Client;
  const send = (command: unknown, options?: object) => {
    const cancellable = command instanceof UploadPartCommand || command instanceof PutObjectCommand;
    const sent = (client.send as (c: unknown, o?: object) => Promise<unknown>).call(
      client,
      command,
      cancellable ? { ...options, abortSignal: controller.signal } : options,
    );
    if (!cancellable) return sent;
    return sent.catch((err: unknown) => {
      if (!controller.signal.aborted) onPartFailure(err);
      throw err;
    });
  };
  view.send = send as S3Client["send"];
  return view;
}

async function abortUpload(target: S3Target, key: string, uploadId: string): Promise<void> {
  try {
    await s3Call(target, "aborting the multipart upload of", key, () =>
      target.client.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: key, UploadId: uploadId })),
    );
  } catch (err) {
    // Already aborted by Upload itself: the goal is reached.
    if (!(err instanceof O3mlError && (err.code === "NOT_FOUND" || err.code === "ABORTED"))) throw err;
  }
}

/**
 * Passes `source` on until `signal` aborts, then fails at once even if the
 * source is stuck waiting for data, so that the workers reading it settle.
 */
async function* abortable(source: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(Object.assign(new Error("upload aborted"), { name: "AbortError" }));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([it.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    // Not awaited: a source stuck in a read would never answer.
    void Promise.resolve(it.return?.()).catch(() => undefined);
  }
}
