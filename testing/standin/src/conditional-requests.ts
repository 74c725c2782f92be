import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { HeadObjectCommand, S3ServiceException, type S3Client } from "@aws-sdk/client-s3";
import { toO3Etag } from "./etag-format.js";
import {
  COPY_SOURCE_CONDITIONS,
  judgeConditions,
  OBJECT_CONDITIONS,
  presentConditions,
  WRITE_CONDITIONS,
  type ConditionHeaders,
  type ConditionMode,
} from "./preconditions.js";
import { headerAuthorization, type RequestSigning } from "./request-signature.js";
import { s3ErrorAnswer } from "./s3-error-response.js";
import type { S3Request } from "./s3-request.js";
import type { UpstreamAnswer } from "./upstream-answer.js";

/** The layer's answer to a request whose conditions it judged: answer it now, or forward it with these headers. */
export type ConditionCheck = { answer: UpstreamAnswer; headers?: undefined } | { answer?: undefined; headers: IncomingHttpHeaders };

/** One object a request's conditions are about, and how they are judged. */
interface ConditionTarget {
  mode: ConditionMode;
  set: ConditionHeaders;
  object: { bucket: string; key: string; versionId?: string };
  /**
   * The header that binds the forwarded request to the object version the
   * layer judged, in the upstream's own hex ETag; absent where the upstream
   * refuses or ignores it (CopyObject's destination).
   */
  pin?: string;
  /** Whether a write to an absent object is bound with `If-None-Match: *`. */
  pinAbsence?: boolean;
}

/**
 * Conditional requests on the ETags O3 presents. The upstream knows its
 * ETags in hex and, besides, judges conditions its own way (moto ignores most
 * copy-source ones and `If-None-Match: *` on GET; MinIO takes no ETag lists
 * and gets RFC 9110's order of evaluation wrong), so the layer judges every
 * condition itself, against a HeadObject of its own, in the base64 form the
 * client was shown. A request that passes is forwarded without the client's
 * conditions but bound to what was judged: `If-Match: "<hex>"` (or
 * `If-None-Match: *` for a write to an absent key), which both upstreams
 * honour on GET, HEAD and PUT (MinIO on CompleteMultipartUpload and copy
 * sources too), so that a change in between makes the upstream refuse the
 * request instead of serving or replacing another version. Changing signed
 * headers needs a new signature: the layer checks the client's first (see
 * RequestSigning).
 */
export class ConditionalRequests {
  constructor(
    private readonly admin: S3Client,
    private readonly signing: RequestSigning,
  ) {}

  /**
   * Undefined when the request carries no condition the layer judges, or is
   * not signed with a SigV4 Authorization header (presigned and anonymous
   * requests are forwarded as they are).
   */
  async check(req: IncomingMessage, s3: S3Request): Promise<ConditionCheck | undefined> {
    const targets = targetsOf(s3, req.headers).filter((t) => presentConditions(req.headers, t.set).length > 0);
    if (targets.length === 0) return undefined;
    const auth = headerAuthorization(req.headers);
    if (!auth) return undefined;
    const refused = await this.signing.verify(req, auth);
    if (refused) {
      const message =
        refused === "InvalidAccessKeyId"
          ? "The AWS Access Key Id you provided does not exist in our records."
          : "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
      return { answer: s3ErrorAnswer(403, refused, message, req.url) };
    }
    // Each chunk's signature is chained to the header signature: a new one would break them all.
    if (String(req.headers["x-amz-content-sha256"] ?? "").startsWith("STREAMING-AWS4-")) {
      const message =
        "The O3-profile layer cannot judge conditional headers on a request whose body is signed chunk by chunk " +
        "(x-amz-content-sha256: STREAMING-AWS4-*); send it with UNSIGNED-PAYLOAD or a whole-payload SHA-256";
      return { answer: s3ErrorAnswer(501, "NotImplemented", message, req.url) };
    }

    const headers: IncomingHttpHeaders = { ...req.headers };
    const removed = new Set<string>();
    const pins: Record<string, string> = {};
    for (const target of targets) {
      for (const name of presentConditions(req.headers, target.set)) {
        delete headers[name];
        removed.add(name);
      }
      const looked = await this.look(target.object);
      if ("answer" in looked) return looked;
      if (!looked.etag) {
        // S3 answers a write conditioned on an absent key's ETag with 404;
        // reads and copies go on, for the upstream to say what is missing.
        if (target.mode === "write" && req.headers[target.set.ifMatch] !== undefined) {
          return { answer: s3ErrorAnswer(404, "NoSuchKey", "The specified key does not exist.", req.url) };
        }
        if (target.pinAbsence) pins["if-none-match"] = "*";
        continue;
      }
      const verdict = judgeConditions(req.headers, target.set, target.mode, { etag: toO3Etag(looked.etag), lastModified: looked.lastModified });
      if (!verdict.pass) {
        if (verdict.status === 304) return { answer: notModified(looked.etag, looked.lastModified) };
        const message = "At least one of the pre-conditions you specified did not hold";
        return { answer: s3ErrorAnswer(412, "PreconditionFailed", message, req.url, { Condition: conditionName(verdict.condition) }) };
      }
      if (target.pin) pins[target.pin] = looked.etag;
    }
    Object.assign(headers, pins);
    const signed = auth.signedHeaders.filter((name) => !removed.has(name) && !(name in pins));
    headers.authorization = await this.signing.authorization(req, auth, headers, [...signed, ...Object.keys(pins)]);
    return { headers };
  }

  /** The object as the upstream has it now: no ETag when it does not exist. */
  private async look(object: ConditionTarget["object"]): Promise<{ etag?: string; lastModified?: Date } | { answer: UpstreamAnswer }> {
    try {
      const out = await this.admin.send(new HeadObjectCommand({ Bucket: object.bucket, Key: object.key, VersionId: object.versionId }));
      return { etag: out.ETag, lastModified: out.LastModified };
    } catch (err) {
      if (!(err instanceof S3ServiceException)) throw err;
      const status = err.$metadata.httpStatusCode ?? 500;
      // A missing bucket is a 404 too: the forwarded request will name it.
      if (status === 404) return {};
      // e.g. 405 MethodNotAllowed for a version that is a delete marker, as S3 answers a GET of it.
      return { answer: s3ErrorAnswer(status, err.name, err.message, `/${object.bucket}/${object.key}`) };
    }
  }
}

function targetsOf(s3: S3Request, headers: IncomingHttpHeaders): ConditionTarget[] {
  const object = { bucket: s3.bucket, key: s3.key };
  const source = (): ConditionTarget => ({
    mode: "copy-source",
    set: COPY_SOURCE_CONDITIONS,
    object: copySource(String(headers["x-amz-copy-source"] ?? "")),
    // Honoured by MinIO; moto ignores every copy-source condition but if-none-match.
    pin: COPY_SOURCE_CONDITIONS.ifMatch,
  });
  switch (s3.operation) {
    case "GetObject":
    case "HeadObject":
      return [{ mode: "read", set: OBJECT_CONDITIONS, object: { ...object, versionId: s3.query.get("versionId") ?? undefined }, pin: "if-match" }];
    case "PutObject":
    case "CompleteMultipartUpload":
      return [{ mode: "write", set: WRITE_CONDITIONS, object, pin: "if-match", pinAbsence: true }];
    case "CopyObject":
      // Both upstreams ignore If-Match and If-None-Match on CopyObject: the
      // destination is judged here, and the copy cannot be bound to it.
      return [source(), { mode: "write", set: WRITE_CONDITIONS, object }];
    case "UploadPartCopy":
      return [source()];
    default:
      return [];
  }
}

/** `x-amz-copy-source`: `[/]bucket/key[?versionId=…]`, URL-encoded. */
function copySource(value: string): { bucket: string; key: string; versionId?: string } {
  const queryAt = value.indexOf("?");
  const path = decodeURIComponent((queryAt < 0 ? value : value.slice(0, queryAt)).replace(/^\//, ""));
  const slash = path.indexOf("/");
  const versionId = queryAt < 0 ? undefined : (new URLSearchParams(value.slice(queryAt + 1)).get("versionId") ?? undefined);
  return { bucket: path.slice(0, slash < 0 ? path.length : slash), key: slash < 0 ? "" : path.slice(slash + 1), versionId };
}

/** S3 names the failed condition with the header's usual capitals: `If-None-Match`, `x-amz-copy-source-If-Match`. */
function conditionName(header: string): string {
  return header.replace(/\bif-[a-z-]+$/, (name) => name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase()));
}

/**
 * 304 Not Modified carries the validators the 200 would have had (RFC 9110
 * §15.4.5) and no body; the ETag is turned to O3's form with every other.
 */
function notModified(etag: string, lastModified: Date | undefined): UpstreamAnswer {
  const headers: Record<string, string> = { etag };
  if (lastModified) headers["last-modified"] = lastModified.toUTCString();
  return { status: 304, headers, body: Buffer.alloc(0), discard: () => undefined };
}
