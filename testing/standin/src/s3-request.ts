import type { IncomingHttpHeaders } from "node:http";

/** The S3 operations the O3-profile layer treats specially, plus a catch-all per family. */
export type S3OperationName =
  | "ListBuckets"
  | "CreateBucket"
  | "DeleteBucket"
  | "HeadBucket"
  | "PutBucketVersioning"
  | "PutBucketSubresource"
  | "GetBucketSubresource"
  | "ListObjects"
  | "ListObjectsV2"
  | "ListObjectVersions"
  | "ListMultipartUploads"
  | "DeleteObjects"
  | "PutObject"
  | "CopyObject"
  | "PutObjectSubresource"
  | "GetObject"
  | "GetObjectAttributes"
  | "GetObjectSubresource"
  | "HeadObject"
  | "DeleteObject"
  | "CreateMultipartUpload"
  | "UploadPart"
  | "UploadPartCopy"
  | "CompleteMultipartUpload"
  | "AbortMultipartUpload"
  | "ListParts"
  | "Other";

/** Coarse operation families, the granularity at which faults are scoped. */
export type OperationFamily = "GET" | "PUT" | "HEAD" | "LIST" | "DELETE" | "OTHER";

/** What a path-style S3 request addresses and does. */
export interface S3Request {
  readonly operation: S3OperationName;
  readonly family: OperationFamily;
  /** Empty for service-level requests (ListBuckets). */
  readonly bucket: string;
  /** Decoded object key; empty for bucket-level requests. */
  readonly key: string;
  readonly query: URLSearchParams;
}

const FAMILY: Record<S3OperationName, OperationFamily> = {
  ListBuckets: "LIST",
  CreateBucket: "PUT",
  DeleteBucket: "DELETE",
  HeadBucket: "HEAD",
  PutBucketVersioning: "OTHER",
  PutBucketSubresource: "OTHER",
  GetBucketSubresource: "OTHER",
  ListObjects: "LIST",
  ListObjectsV2: "LIST",
  ListObjectVersions: "LIST",
  ListMultipartUploads: "LIST",
  DeleteObjects: "DELETE",
  PutObject: "PUT",
  CopyObject: "PUT",
  PutObjectSubresource: "OTHER",
  GetObject: "GET",
  GetObjectAttributes: "OTHER",
  GetObjectSubresource: "OTHER",
  HeadObject: "HEAD",
  DeleteObject: "DELETE",
  CreateMultipartUpload: "PUT",
  UploadPart: "PUT",
  UploadPartCopy: "PUT",
  CompleteMultipartUpload: "PUT",
  AbortMultipartUpload: "DELETE",
  ListParts: "LIST",
  Other: "OTHER",
};

// Query parameters that select a sub-resource rather than modify the main one
// (x-id is only the SDK's hint and does not change what S3 does).
const IGNORED_PARAMS = new Set(["x-id", "versionId", "partNumber", "uploadId", "response-content-type",
  "response-content-disposition", "response-content-encoding", "response-content-language",
  "response-cache-control", "response-expires", "list-type", "prefix", "delimiter", "marker", "max-keys",
  "continuation-token", "start-after", "fetch-owner", "encoding-type", "key-marker", "version-id-marker",
  "max-uploads", "upload-id-marker", "max-parts", "part-number-marker"]);

function hasSubresource(query: URLSearchParams): boolean {
  for (const name of query.keys()) if (!IGNORED_PARAMS.has(name)) return true;
  return false;
}

function classify(method: string, bucket: string, key: string, q: URLSearchParams, headers: IncomingHttpHeaders): S3OperationName {
  const copy = headers["x-amz-copy-source"] !== undefined;
  if (!bucket) return method === "GET" ? "ListBuckets" : "Other";
  if (!key) {
    switch (method) {
      case "PUT":
        if (q.has("versioning")) return "PutBucketVersioning";
        return hasSubresource(q) ? "PutBucketSubresource" : "CreateBucket";
      case "DELETE":
        return hasSubresource(q) ? "Other" : "DeleteBucket";
      case "HEAD":
        return "HeadBucket";
      case "POST":
        return q.has("delete") ? "DeleteObjects" : "Other";
      case "GET":
        if (q.has("versions")) return "ListObjectVersions";
        if (q.has("uploads")) return "ListMultipartUploads";
        if (q.get("list-type") === "2") return "ListObjectsV2";
        return hasSubresource(q) ? "GetBucketSubresource" : "ListObjects";
      default:
        return "Other";
    }
  }
  switch (method) {
    case "PUT":
      if (q.has("uploadId") && q.has("partNumber")) return copy ? "UploadPartCopy" : "UploadPart";
      if (hasSubresource(q)) return "PutObjectSubresource";
      return copy ? "CopyObject" : "PutObject";
    case "POST":
      if (q.has("uploads")) return "CreateMultipartUpload";
      if (q.has("uploadId")) return "CompleteMultipartUpload";
      return "Other";
    case "GET":
      if (q.has("uploadId")) return "ListParts";
      if (q.has("attributes")) return "GetObjectAttributes";
      return hasSubresource(q) ? "GetObjectSubresource" : "GetObject";
    case "HEAD":
      return "HeadObject";
    case "DELETE":
      return q.has("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
    default:
      return "Other";
  }
}

/**
 * Classifies a path-style request (`/bucket/key?query`), the only addressing
 * style Akave O3 offers. Virtual-hosted requests are classified as bucket-less.
 */
export function describeRequest(method: string, url: string, headers: IncomingHttpHeaders): S3Request {
  // Concatenated rather than resolved, so that a path starting with "//" stays a path.
  const parsed = new URL(`http://o3-profile.invalid${url.startsWith("/") ? "" : "/"}${url}`);
  const path = parsed.pathname.slice(1);
  const slash = path.indexOf("/");
  const rawBucket = slash < 0 ? path : path.slice(0, slash);
  const rawKey = slash < 0 ? "" : path.slice(slash + 1);
  const bucket = safeDecode(rawBucket);
  const key = safeDecode(rawKey);
  const operation = classify(method.toUpperCase(), bucket, key, parsed.searchParams, headers);
  return { operation, family: FAMILY[operation], bucket, key, query: parsed.searchParams };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
