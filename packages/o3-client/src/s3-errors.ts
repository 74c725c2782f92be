import { O3mlError, type ErrorCodeName } from "@o3ml/errors";
import { isConnectError } from "./retry-strategy.js";

/** What was being done when an S3 call failed, for the message. */
export interface S3ErrorContext {
  endpoint: string;
  bucket: string;
  /** The object concerned; absent for bucket-level calls. */
  key?: string;
  /** Short verb phrase, e.g. "reading", "writing", "listing". */
  op: string;
  /** Values that must never appear in a message (the secret key). */
  secrets?: readonly string[];
}

interface S3Failure {
  name?: string;
  code?: string;
  message?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

const CHECK_ENDPOINT = "check O3ML_ENDPOINT and that the server is running and reachable";
const CHECK_KEYS = "check O3ML_ACCESS_KEY_ID and O3ML_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)";

/**
 * The one mapping of S3 failures to O3mlError codes. Server error codes are
 * matched first, then the HTTP status (HEAD responses have no body and so no
 * code), then Node network errors. Credentials are never put in a message;
 * the server's own text is dropped for refused credentials, since a
 * SignatureDoesNotMatch body echoes the request that was signed.
 */
export function toO3mlError(err: unknown, ctx: S3ErrorContext): O3mlError {
  if (err instanceof O3mlError) return err;
  const e = (err ?? {}) as S3Failure;
  const name = e.name ?? e.code ?? "";
  const status = e.$metadata?.httpStatusCode;
  const attempts = e.$metadata?.attempts;
  const object = ctx.key !== undefined ? `object ${JSON.stringify(ctx.key)} in bucket ${ctx.bucket}` : `bucket ${ctx.bucket}`;
  const where = `${object} at ${ctx.endpoint}`;
  const server = `${name}${e.message && e.message !== name && e.message !== "UnknownError" ? `: ${e.message}` : ""}`;
  const details = { endpoint: ctx.endpoint, bucket: ctx.bucket, key: ctx.key, s3Code: name || undefined, httpStatus: status, attempts };
  const make = (code: ErrorCodeName, message: string) => new O3mlError(code, redact(message, ctx.secrets), details, { cause: err });

  if (name === "AbortError") return make("CANCELLED", `${ctx.op} ${where} was cancelled`);
  if (name === "NoSuchBucket" || (status === 404 && ctx.key === undefined)) {
    return make("FAILED_PRECONDITION", `bucket ${ctx.bucket} does not exist at ${ctx.endpoint}; create it or set O3ML_BUCKET`);
  }
  if (name === "NoSuchKey" || name === "NotFound" || status === 404) {
    if (name === "NoSuchUpload") return make("ABORTED", `${ctx.op} ${where}: the multipart upload no longer exists (aborted or completed elsewhere)`);
    return make("NOT_FOUND", `${object} not found at ${ctx.endpoint}`);
  }
  if (["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "AllAccessDisabled"].includes(name) || status === 403) {
    return make("PERMISSION_DENIED", `${ctx.endpoint} refused ${ctx.op} ${object} (${name || "HTTP 403"}): ${CHECK_KEYS}, and that the key may access this bucket`);
  }
  if (status === 401) return make("UNAUTHENTICATED", `${ctx.endpoint} asked for credentials while ${ctx.op} ${object}: ${CHECK_KEYS}`);
  if (name === "AuthorizationHeaderMalformed" || name === "PermanentRedirect" || name === "IllegalLocationConstraintException" || status === 301) {
    return make("FAILED_PRECONDITION", `${ctx.op} ${where} failed (${server}): check O3ML_REGION (Akave O3 uses akave-network)`);
  }
  if (name === "PreconditionFailed" || status === 412) return make("ALREADY_EXISTS", `${object} already exists at ${ctx.endpoint}`);
  if (name === "InvalidRange" || status === 416) return make("INVALID_ARGUMENT", `${ctx.op} ${where}: the byte range lies outside the object`);
  if (name === "BucketAlreadyExists") {
    return make("ALREADY_EXISTS", `bucket name ${ctx.bucket} is taken by another account at ${ctx.endpoint}; bucket names are global, choose another O3ML_BUCKET`);
  }
  if (name === "BucketAlreadyOwnedByYou") return make("ALREADY_EXISTS", `bucket ${ctx.bucket} already exists at ${ctx.endpoint} (it is yours)`);
  if (name === "OperationAborted" || (status === 409 && name !== "BucketNotEmpty")) {
    return make("ABORTED", `${ctx.op} ${where} conflicted with another operation on it (${server || "HTTP 409"}); retry`);
  }
  if (name === "BucketNotEmpty") return make("FAILED_PRECONDITION", `bucket ${ctx.bucket} at ${ctx.endpoint} is not empty`);
  if (name === "NotImplemented" || status === 501) return make("UNIMPLEMENTED", `${ctx.endpoint} does not implement ${ctx.op} (${server})`);
  if (["QuotaExceeded", "InsufficientStorage", "TooManyBuckets"].includes(name) || status === 507) {
    return make("RESOURCE_EXHAUSTED", `${ctx.endpoint} is out of space or quota while ${ctx.op} ${object} (${server})`);
  }
  if (isConnectError(err)) {
    return make("UNAVAILABLE", `cannot reach the object store at ${ctx.endpoint} (${networkReason(err)})${tries(attempts)} while ${ctx.op} ${object}: ${CHECK_ENDPOINT}`);
  }
  // The HTTP handler renames resets to TimeoutError too; those stay UNAVAILABLE below.
  if (name === "TimeoutError" && (e.code === undefined || e.code === "ETIMEDOUT")) {
    return make("DEADLINE_EXCEEDED", `${ctx.op} ${where} timed out${tries(attempts)}; the endpoint may be overloaded or the link slow`);
  }
  if (isNetworkCode(e.code) || (status !== undefined && status >= 500) || name === "SlowDown" || status === 429) {
    return make("UNAVAILABLE", `${ctx.endpoint} failed ${ctx.op} ${object} (${server || `HTTP ${status}`})${tries(attempts)}; the store may be overloaded, retry later`);
  }
  // A HEAD has no body to name the error; a bucket HEAD answered 400 is, in practice, a signature
  // made for another region (MinIO and S3 both answer so).
  if (status === 400 && ctx.key === undefined && (!name || name === "Unknown" || name === "BadRequest")) {
    return make("FAILED_PRECONDITION", `${ctx.endpoint} rejected ${ctx.op} bucket ${ctx.bucket} (HTTP 400): check O3ML_REGION matches the endpoint's region (Akave O3 uses akave-network, MinIO and AWS their own)`);
  }
  if (status !== undefined && status >= 400 && status < 500) {
    return make("INVALID_ARGUMENT", `${ctx.endpoint} rejected ${ctx.op} ${object} (${server || `HTTP ${status}`})`);
  }
  return make("INTERNAL", `${ctx.op} ${where} failed: ${server || String(err)}`);
}

const NETWORK_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "ERR_STREAM_PREMATURE_CLOSE"]);

function isNetworkCode(code: string | undefined): boolean {
  return code !== undefined && NETWORK_CODES.has(code);
}

function networkReason(err: unknown): string {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === "ECONNREFUSED") return "connection refused";
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host name not found";
    if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return "no route to host";
  }
  return "connection timed out";
}

function tries(attempts: number | undefined): string {
  return attempts && attempts > 1 ? ` after ${attempts} attempts` : "";
}

/** Replaces every occurrence of each secret by "***". */
export function redact(message: string, secrets: readonly string[] = []): string {
  let out = message;
  for (const s of secrets) if (s) out = out.split(s).join("***");
  return out;
}
