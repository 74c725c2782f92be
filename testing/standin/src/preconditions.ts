import type { IncomingHttpHeaders } from "node:http";
import { parseRfc7231DateTime, splitHeader } from "@smithy/core/serde";

/**
 * How a set of conditional headers is judged. The order of evaluation is
 * RFC 9110 §13.2.2's, which S3 documents for GetObject and CopyObject:
 * If-Match, else If-Unmodified-Since; then If-None-Match, else
 * If-Modified-Since.
 */
export type ConditionMode =
  /** GetObject, HeadObject: a failed If-None-Match or If-Modified-Since is 304 Not Modified. */
  | "read"
  /** The source of CopyObject and UploadPartCopy (`x-amz-copy-source-if-*`): every failure is 412. */
  | "copy-source"
  /** PutObject, CompleteMultipartUpload, CopyObject's destination: failures are 412, If-Modified-Since does not apply (RFC 9110 §13.1.3). */
  | "write";

/** The header names of one set of conditions. */
export interface ConditionHeaders {
  ifMatch: string;
  ifNoneMatch: string;
  ifUnmodifiedSince: string;
  /** Absent where the condition does not apply (writes). */
  ifModifiedSince?: string;
}

export const OBJECT_CONDITIONS: ConditionHeaders = {
  ifMatch: "if-match",
  ifNoneMatch: "if-none-match",
  ifUnmodifiedSince: "if-unmodified-since",
  ifModifiedSince: "if-modified-since",
};
export const WRITE_CONDITIONS: ConditionHeaders = { ifMatch: "if-match", ifNoneMatch: "if-none-match", ifUnmodifiedSince: "if-unmodified-since" };
export const COPY_SOURCE_CONDITIONS: ConditionHeaders = {
  ifMatch: "x-amz-copy-source-if-match",
  ifNoneMatch: "x-amz-copy-source-if-none-match",
  ifUnmodifiedSince: "x-amz-copy-source-if-unmodified-since",
  ifModifiedSince: "x-amz-copy-source-if-modified-since",
};

/** The header names of `set` present on a request. */
export function presentConditions(headers: IncomingHttpHeaders, set: ConditionHeaders): string[] {
  return Object.values(set).filter((name): name is string => name !== undefined && headers[name] !== undefined);
}

/** The object a condition is judged against, its ETag as clients are shown it. */
export interface ObjectState {
  etag: string;
  lastModified?: Date;
}

export type Verdict = { pass: true } | { pass: false; status: 304 | 412; condition: string };

/**
 * Judges the conditions of `set` in `headers` against an existing object.
 * ETags are compared as opaque strings: the client must send back the form
 * it was shown (O3's base64), quoted or not; `*` and comma-separated lists
 * are accepted. If-Match uses the strong comparison (a `W/` tag never
 * matches), If-None-Match the weak one. A date that is not an HTTP-date is
 * ignored, as RFC 9110 requires.
 */
export function judgeConditions(headers: IncomingHttpHeaders, set: ConditionHeaders, mode: ConditionMode, object: ObjectState): Verdict {
  const value = (name: string | undefined) => {
    const v = name === undefined ? undefined : headers[name];
    return Array.isArray(v) ? v.join(",") : v;
  };
  const fail = (status: 304 | 412, name: string): Verdict => ({ pass: false, status, condition: name });
  const notModified = mode === "read" ? 304 : 412;
  const current = entityTag(object.etag);
  const modified = object.lastModified?.getTime();

  const ifMatch = value(set.ifMatch);
  const ifUnmodifiedSince = httpDate(value(set.ifUnmodifiedSince));
  if (ifMatch !== undefined) {
    if (!anyTagMatches(ifMatch, current, "strong")) return fail(412, set.ifMatch);
  } else if (ifUnmodifiedSince !== undefined && modified !== undefined && modified > ifUnmodifiedSince) {
    return fail(412, set.ifUnmodifiedSince);
  }

  const ifNoneMatch = value(set.ifNoneMatch);
  const ifModifiedSince = httpDate(value(set.ifModifiedSince));
  if (ifNoneMatch !== undefined) {
    if (anyTagMatches(ifNoneMatch, current, "weak")) return fail(notModified, set.ifNoneMatch);
  } else if (set.ifModifiedSince && ifModifiedSince !== undefined && modified !== undefined && modified <= ifModifiedSince) {
    return fail(notModified, set.ifModifiedSince);
  }
  return { pass: true };
}

interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** `W/"x"`, `"x"` or a bare `x` (S3 accepts ETags without their quotes). */
function entityTag(text: string): EntityTag {
  const trimmed = text.trim();
  const weak = trimmed.startsWith("W/");
  const tag = weak ? trimmed.slice(2) : trimmed;
  const quoted = tag.length >= 2 && tag.startsWith('"') && tag.endsWith('"');
  return { weak, opaque: quoted ? tag.slice(1, -1) : tag };
}

function anyTagMatches(field: string, current: EntityTag, comparison: "strong" | "weak"): boolean {
  if (field.trim() === "*") return true;
  // splitHeader keeps commas inside quotes and takes the quotes off a quoted item.
  return splitHeader(field).some((item) => {
    const tag = entityTag(item);
    if (tag.opaque !== current.opaque) return false;
    return comparison === "weak" || (!tag.weak && !current.weak);
  });
}

function httpDate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseRfc7231DateTime(text.trim())?.getTime();
  } catch {
    return undefined;
  }
}
