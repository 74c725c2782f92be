import type { S3Client } from "@aws-sdk/client-s3";

/** What a request to the store does, as `o3ml_store_requests_total` labels it. */
export type StoreOp = "put" | "get" | "head" | "list" | "delete" | "other";

/** Called once per request sent to the store (each retry is a request of its own). */
export type RequestCounter = (op: StoreOp) => void;

const OPS: [RegExp, StoreOp][] = [
  [/^(PutObject|UploadPart|CreateMultipartUpload|CompleteMultipartUpload|CopyObject)Command$/, "put"],
  [/^GetObjectCommand$/, "get"],
  [/^Head(Object|Bucket)Command$/, "head"],
  [/^List\w*Command$/, "list"],
  [/^(DeleteObjects?|AbortMultipartUpload)Command$/, "delete"],
];

/** The operation of an S3 API command, by its name ("ListObjectVersionsCommand" is a list). */
export function storeOpOf(commandName: string): StoreOp {
  return OPS.find(([re]) => re.test(commandName))?.[1] ?? "other";
}

/**
 * Counts every request `client` sends: the listing pages, the versions and deletions a delete
 * on a versioned bucket makes, the parts of a multipart upload, the capability probe. Inside
 * the retry step, so that each attempt counts: what the store was sent, not what was asked.
 */
export function countRequests(client: S3Client, count: RequestCounter): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      count(storeOpOf((context as { commandName?: string }).commandName ?? ""));
      return next(args);
    },
    { step: "finalizeRequest", priority: "low", name: "o3mlCountRequests" },
  );
}
