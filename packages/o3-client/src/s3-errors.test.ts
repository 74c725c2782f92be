import { describe, expect, it } from "vitest";
import { O3mlError, type ErrorCodeName } from "@o3ml/errors";
import { toO3mlError, type S3ErrorContext } from "./s3-errors.js";

const ctx: S3ErrorContext = { endpoint: "https://o3.example", bucket: "bkt", key: "dir/obj", op: "reading", secrets: ["TOPSECRET"] };

/** An error shaped like the SDK's service exceptions. */
function sdkError(name: string, status?: number, message = name, attempts?: number): Error {
  return Object.assign(new Error(message), { name, $fault: status && status >= 500 ? "server" : "client", $metadata: { httpStatusCode: status, attempts } });
}
function sysError(code: string, name = "Error"): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:9`), { code, name });
}

describe("toO3mlError", () => {
  const table: Array<[string, unknown, ErrorCodeName, S3ErrorContext?]> = [
    ["NoSuchKey", sdkError("NoSuchKey", 404), "NOT_FOUND"],
    ["HEAD 404 (no body, no code)", sdkError("NotFound", 404, "UnknownError"), "NOT_FOUND"],
    ["NoSuchBucket", sdkError("NoSuchBucket", 404), "FAILED_PRECONDITION"],
    ["404 on a bucket call", sdkError("NotFound", 404), "FAILED_PRECONDITION", { ...ctx, key: undefined }],
    ["AccessDenied", sdkError("AccessDenied", 403), "PERMISSION_DENIED"],
    ["InvalidAccessKeyId", sdkError("InvalidAccessKeyId", 403), "PERMISSION_DENIED"],
    ["SignatureDoesNotMatch", sdkError("SignatureDoesNotMatch", 403), "PERMISSION_DENIED"],
    ["HEAD 403", sdkError("Forbidden", 403, "UnknownError"), "PERMISSION_DENIED"],
    ["PreconditionFailed", sdkError("PreconditionFailed", 412), "ALREADY_EXISTS"],
    ["InvalidRange", sdkError("InvalidRange", 416), "INVALID_ARGUMENT"],
    ["InvalidArgument", sdkError("InvalidArgument", 400), "INVALID_ARGUMENT"],
    ["EntityTooSmall", sdkError("EntityTooSmall", 400), "INVALID_ARGUMENT"],
    ["wrong region", sdkError("AuthorizationHeaderMalformed", 400), "FAILED_PRECONDITION"],
    ["wrong region on a bucket HEAD (no body)", sdkError("Unknown", 400, "UnknownError"), "FAILED_PRECONDITION", { ...ctx, key: undefined }],
    ["HEAD 400 on an object", sdkError("Unknown", 400, "UnknownError"), "INVALID_ARGUMENT"],
    ["BucketAlreadyExists", sdkError("BucketAlreadyExists", 409), "ALREADY_EXISTS"],
    ["NotImplemented", sdkError("NotImplemented", 501), "UNIMPLEMENTED"],
    ["SlowDown after retries", sdkError("SlowDown", 503, "SlowDown", 5), "UNAVAILABLE"],
    ["InternalError", sdkError("InternalError", 500), "UNAVAILABLE"],
    ["connection refused", sysError("ECONNREFUSED", "TimeoutError"), "UNAVAILABLE"],
    ["host not found", sysError("ENOTFOUND"), "UNAVAILABLE"],
    ["connection reset", sysError("ECONNRESET", "TimeoutError"), "UNAVAILABLE"],
    ["request timeout", Object.assign(new Error("exceeded requestTimeout"), { name: "TimeoutError", code: "ETIMEDOUT" }), "DEADLINE_EXCEEDED"],
    ["cancelled", Object.assign(new Error("aborted"), { name: "AbortError" }), "CANCELLED"],
    ["anything else", new Error("boom"), "INTERNAL"],
    ["not even an Error", "boom", "INTERNAL"],
  ];

  it.each(table)("%s", (_label, err, code, context = ctx) => {
    const mapped = toO3mlError(err, context);
    expect(mapped).toBeInstanceOf(O3mlError);
    expect(mapped.code).toBe(code);
    expect(mapped.cause).toBe(err);
  });

  it("points at O3ML_REGION when a bucket HEAD is refused without a reason", () => {
    const m = toO3mlError(sdkError("Unknown", 400, "UnknownError"), { ...ctx, key: undefined, op: "checking" });
    expect(m.message).toContain("O3ML_REGION");
    expect(m.message).toContain("bkt");
  });

  it("names the key and the endpoint", () => {
    const m = toO3mlError(sdkError("NoSuchKey", 404), ctx);
    expect(m.message).toContain('"dir/obj"');
    expect(m.message).toContain("https://o3.example");
    expect(m.details).toMatchObject({ endpoint: "https://o3.example", bucket: "bkt", key: "dir/obj", s3Code: "NoSuchKey", httpStatus: 404 });
  });

  it("says what to check when the endpoint cannot be reached", () => {
    const m = toO3mlError(Object.assign(sysError("ECONNREFUSED", "TimeoutError"), { $metadata: { attempts: 2 } }), ctx);
    expect(m.message).toMatch(/cannot reach the object store at https:\/\/o3\.example \(connection refused\) after 2 attempts/);
    expect(m.message).toContain("O3ML_ENDPOINT");
  });

  it("never repeats a secret, nor the server's text for refused credentials", () => {
    const m = toO3mlError(sdkError("SignatureDoesNotMatch", 403, "StringToSign ... TOPSECRET"), ctx);
    expect(m.message).not.toContain("TOPSECRET");
    expect(m.message).not.toContain("StringToSign");
    expect(m.message).toContain("O3ML_SECRET_ACCESS_KEY");
    const other = toO3mlError(sdkError("InvalidArgument", 400, "bad header TOPSECRET"), ctx);
    expect(other.message).not.toContain("TOPSECRET");
    expect(other.message).toContain("***");
  });

  it("passes O3mlErrors through unchanged", () => {
    const e = new O3mlError("INTEGRITY", "hash mismatch");
    expect(toO3mlError(e, ctx)).toBe(e);
  });
});
