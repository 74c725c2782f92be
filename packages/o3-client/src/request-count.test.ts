import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { createBlobStore } from "./s3-blob-store.js";
import { storeOpOf, type StoreOp } from "./request-count.js";

describe("store requests by operation", () => {
  it("names each S3 command by what it does", () => {
    expect(
      ["PutObjectCommand", "UploadPartCommand", "CompleteMultipartUploadCommand", "GetObjectCommand", "HeadObjectCommand", "HeadBucketCommand", "ListObjectsV2Command", "ListObjectVersionsCommand", "DeleteObjectCommand", "AbortMultipartUploadCommand", "GetBucketVersioningCommand", ""].map(storeOpOf),
    ).toEqual(["put", "put", "put", "get", "head", "head", "list", "list", "delete", "delete", "other", "other"]);
  });

  it("counts each operation of a store in a local directory as its request", async () => {
    const root = mkdtempSync(join(tmpdir(), "o3ml-request-count-"));
    try {
      const ops: StoreOp[] = [];
      const store = createBlobStore({ endpoint: pathToFileURL(root).href, region: "r", bucket: "counted", profile: "o3" }, { onRequest: (op) => ops.push(op) });
      await store.ensureBucket({ create: true });
      await store.put("a/1", Buffer.from("one"));
      await store.get("a/1");
      await store.head("a/1");
      for await (const _ of store.list("a/")) void _;
      await store.delete("a/1");
      expect(ops).toEqual(["put", "get", "head", "list", "delete"]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
