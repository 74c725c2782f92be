import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { S3Client } from "@aws-sdk/client-s3";
import { bucketNameProblem } from "./bucket-name.js";
import { checksumHeaderIn, checksumRefusal } from "./checksum-headers.js";
import { completeMultipartUpload } from "./complete-multipart.js";
import type { ConditionalRequests } from "./conditional-requests.js";
import { rewriteXmlEtags, toO3Etag } from "./etag-format.js";
import type { AnswerFault, FaultInjector } from "./faults.js";
import type { NetworkState } from "./network-state.js";
import { setTimeout as delay } from "node:timers/promises";
import { relayAnswer } from "./relay-answer.js";
import { sendS3Error } from "./s3-error-response.js";
import { describeRequest, type S3OperationName, type S3Request } from "./s3-request.js";
import { bufferAnswer, bufferedAnswer, type UpstreamAnswer } from "./upstream-answer.js";
import type { UpstreamForwarder } from "./upstream-forwarder.js";
import { suspendsVersioning, type VersioningKeeper } from "./versioning-keeper.js";

/** Requests the layer refuses the way O3 does, counted by reason. */
export type RefusalKind = "checksum" | "bucket-name" | "versioning";

export interface ProfileContext {
  forwarder: UpstreamForwarder;
  admin: S3Client;
  conditions: ConditionalRequests;
  versioning: VersioningKeeper;
  network: NetworkState;
  faults: FaultInjector;
  counters: { requests: number; refused: Record<RefusalKind, number> };
}

// Writes before which versioning must already be on, so that overwrites and
// deletes keep the older versions as they do on O3.
const VERSIONED_WRITES = new Set<S3OperationName>(["PutObject", "CopyObject", "CreateMultipartUpload", "DeleteObject", "DeleteObjects"]);
// Writes that start an object's way to the network (Network-State: pending).
const OBJECT_WRITES = new Set<S3OperationName>(["PutObject", "CopyObject", "CompleteMultipartUpload"]);
// Small XML answers that carry ETags; everything else is streamed untouched.
const ETAG_DOCUMENTS = new Set<S3OperationName>(["CompleteMultipartUpload", "ListObjects", "ListObjectsV2",
  "ListObjectVersions", "ListParts", "CopyObject", "UploadPartCopy", "GetObjectAttributes"]);
// Reads the layer binds to the object version whose conditions it judged.
const CONDITIONAL_READS = new Set<S3OperationName>(["GetObject", "HeadObject"]);
// Enough for a CompleteMultipartUpload naming all 10,000 parts.
const MAX_XML_BODY = 8 * 1024 * 1024;

/** The O3-profile layer's request handler; `expectsContinue` for `Expect: 100-continue` requests. */
export function o3ProfileHandler(ctx: ProfileContext) {
  return (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void => {
    handle(ctx, req, res, expectsContinue).catch((err: unknown) => {
      if (res.writableEnded || res.destroyed) return;
      const message = `The O3-profile layer could not complete the request: ${(err as Error)?.message ?? String(err)}`;
      sendS3Error(res, 502, "InternalError", message, { bodyUnread: !req.complete });
    });
  };
}

async function handle(ctx: ProfileContext, req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
  ctx.counters.requests++;
  const s3 = describeRequest(req.method ?? "GET", req.url ?? "/", req.headers);
  const refuse = (kind: RefusalKind, code: string, message: string) => {
    ctx.counters.refused[kind]++;
    sendS3Error(res, 400, code, message, { resource: req.url, bodyUnread: !req.complete });
  };

  const checksum = checksumHeaderIn(req.headers);
  if (checksum) return refuse("checksum", "InvalidArgument", checksumRefusal(checksum));
  if (s3.operation === "CreateBucket") {
    const problem = bucketNameProblem(s3.bucket);
    if (problem) return refuse("bucket-name", "InvalidBucketName", `The specified bucket is not valid: "${s3.bucket}" ${problem}`);
  }

  // A client that goes away stops the upstream request too, including one that
  // leaves while an injected latency holds its request back: that request never
  // reaches the upstream, as a request from a killed writer would not.
  const abort = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) abort.abort();
  });
  const fault = ctx.faults.decide(s3);
  if (fault.latencyMs > 0) {
    ctx.faults.count("latency");
    await delay(fault.latencyMs, undefined, { signal: abort.signal }).catch(() => undefined);
    if (abort.signal.aborted) return;
  }
  if (fault.answer?.phase === "before-upstream") return answerWithFault(ctx, req, res, fault.answer);
  // Judged before the 100 Continue, so that a write refused by its conditions is not sent.
  const check = await ctx.conditions.check(req, s3);
  let answer: UpstreamAnswer;
  if (check?.answer) {
    answer = check.answer;
    // Nobody will read the rest of the body: the connection cannot be reused.
    if (!req.complete) answer.headers.connection = "close";
  } else {
    if (expectsContinue) res.writeContinue();
    if (s3.operation === "PutBucketVersioning") {
      const body = await readSmallBody(req);
      if (suspendsVersioning(body.toString())) {
        return refuse("versioning", "InvalidArgument", "Versioning is always enabled on Akave O3 buckets and cannot be suspended");
      }
      answer = await ctx.forwarder.forward(req, { body, signal: abort.signal });
    } else if (s3.operation === "CompleteMultipartUpload") {
      answer = await completeThroughLayer(ctx, req, s3.bucket, s3.key, s3.query.get("uploadId") ?? "", check?.headers, abort.signal);
    } else {
      if (VERSIONED_WRITES.has(s3.operation)) await ctx.versioning.ensure(s3.bucket);
      answer = await forwardJudged(ctx, req, s3, check?.headers, abort.signal);
    }
  }

  if (fault.answer) {
    answer.discard();
    return answerWithFault(ctx, req, res, fault.answer);
  }
  const ok = answer.status >= 200 && answer.status < 300;
  if (ok && s3.operation === "CreateBucket") {
    try {
      await ctx.versioning.enable(s3.bucket);
    } catch (err) {
      answer.discard();
      return sendS3Error(res, 500, "InternalError", `Bucket ${s3.bucket} was created but versioning could not be enabled: ${(err as Error).message}`);
    }
  }
  if (ok && s3.operation === "DeleteBucket") ctx.versioning.forget(s3.bucket);
  if (ok && ETAG_DOCUMENTS.has(s3.operation)) {
    const buffered = await bufferAnswer(answer);
    answer = bufferedAnswer(buffered.status, buffered.headers, Buffer.from(rewriteXmlEtags((buffered.body as Buffer).toString("utf8"))));
  }
  const etag = answer.headers.etag;
  if (typeof etag === "string") answer.headers.etag = toO3Etag(etag);
  if (ok && OBJECT_WRITES.has(s3.operation)) ctx.network.recordWrite(s3.bucket, s3.key);
  if (ok && s3.operation === "HeadObject") {
    Object.assign(answer.headers, ctx.network.headers(s3.bucket, s3.key, String(answer.headers.etag ?? "")));
  }
  await relayAnswer(req, res, answer, fault, ctx.faults);
}

/**
 * Forwards a request, with `headers` when the layer judged its conditions
 * and re-signed it. A read bound to the version judged that the upstream
 * refuses with 412 met a write in between: its conditions are judged again
 * on what is there now, twice at most.
 */
async function forwardJudged(
  ctx: ProfileContext,
  req: IncomingMessage,
  s3: S3Request,
  headers: IncomingHttpHeaders | undefined,
  signal: AbortSignal,
): Promise<UpstreamAnswer> {
  let answer = await ctx.forwarder.forward(req, { headers, signal });
  for (let again = 0; headers && CONDITIONAL_READS.has(s3.operation) && answer.status === 412 && again < 2; again++) {
    answer.discard();
    const check = await ctx.conditions.check(req, s3);
    if (check?.answer) return check.answer;
    headers = check?.headers;
    answer = await ctx.forwarder.forward(req, { headers, signal });
  }
  return answer;
}

/**
 * Completes a multipart upload. The client's request goes to the upstream
 * first, unchanged (or as the layer re-signed it after judging its
 * conditions), so that the upstream still judges its signature; an
 * InvalidPart answer then only means the part ETags are in O3's form, and
 * the layer completes the upload itself with the ETags translated.
 */
async function completeThroughLayer(
  ctx: ProfileContext,
  req: IncomingMessage,
  bucket: string,
  key: string,
  uploadId: string,
  headers: IncomingHttpHeaders | undefined,
  signal: AbortSignal,
): Promise<UpstreamAnswer> {
  const body = await readSmallBody(req);
  const first = await bufferAnswer(await ctx.forwarder.forward(req, { body, headers, signal }));
  if (first.status !== 400 || !/<Code>InvalidPart<\/Code>/.test((first.body as Buffer).toString())) return first;
  const sent = headers ?? req.headers;
  const header = (name: string) => (typeof sent[name] === "string" ? (sent[name]) : undefined);
  return completeMultipartUpload(ctx.admin, { bucket, key, uploadId }, body.toString("utf8"), {
    ifMatch: header("if-match"),
    ifNoneMatch: header("if-none-match"),
  });
}

function answerWithFault(ctx: ProfileContext, req: IncomingMessage, res: ServerResponse, fault: AnswerFault): void {
  ctx.faults.count(fault.kind);
  const bodyUnread = !req.complete;
  switch (fault.kind) {
    case "internal-error":
      return sendS3Error(res, 500, "InternalError", "We encountered an internal error. Please try again.", { bodyUnread });
    case "slow-down":
      return sendS3Error(res, 503, "SlowDown", "Please reduce your request rate.", { bodyUnread, retryAfterSeconds: 1 });
    case "reset":
      // A TCP reset, not an orderly close: the client sees ECONNRESET.
      req.socket.resetAndDestroy();
  }
}

async function readSmallBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_XML_BODY) throw new Error(`request body is larger than ${MAX_XML_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
