import { createHash } from "node:crypto";
import { DeleteObjectsCommand } from "@aws-sdk/client-s3";
import { afterEach, describe, expect, it } from "vitest";
import { createS3Client } from "./o3-profile.js";
import { ok, startFaultServer, storeAt, type FaultServer, type SeenRequest } from "./fault-server.test-support.js";
import { createBlobStore } from "./s3-blob-store.js";
import { pino } from "pino";

const MiB = 1024 * 1024;
let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Just enough of the multipart protocol for the client to go through it. */
async function multipartResponder(): Promise<FaultServer> {
  server = await startFaultServer((req, res) => {
    if (req.method === "POST" && req.url.includes("uploads")) {
      return ok(res, `<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>up-1</UploadId></InitiateMultipartUploadResult>`);
    }
    if (req.method === "POST") return ok(res, `<CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>"x"</ETag></CompleteMultipartUploadResult>`);
    // A base64 ETag, as O3 sends: the client must not care about its form.
    return ok(res, "", { etag: `"${Buffer.from(req.url).toString("base64")}"` });
  });
  return server;
}

const checksumHeaders = (r: SeenRequest) => Object.keys(r.headers).filter((h) => h.startsWith("x-amz-checksum-") || h === "x-amz-sdk-checksum-algorithm");

describe("the O3 profile on the wire", () => {
  it("sends no flexible-checksum or Expect headers, path-style, over kept-alive connections", async () => {
    const s = await multipartResponder();
    const store = storeAt(s.endpoint, { multipartThreshold: 5 * MiB, partSize: 5 * MiB, queueSize: 2 });
    await store.put("small/key", new Uint8Array(1000));
    await store.put("big/key", new Uint8Array(16 * MiB));
    const methods = s.requests.map((r) => r.method);
    expect(methods).toEqual(["PUT", "POST", "PUT", "PUT", "PUT", "PUT", "POST"]);
    for (const r of s.requests) {
      expect(checksumHeaders(r)).toEqual([]);
      expect(r.headers.expect).toBeUndefined();
      expect(r.url.startsWith("/b/")).toBe(true);
      expect(r.headers.host).toBe(new URL(s.endpoint).host);
    }
    // Two workers need at most two connections (plus the one of the first PUT, possibly reused).
    expect(new Set(s.requests.map((r) => r.remotePort)).size).toBeLessThanOrEqual(3);
    store.close();
  });

  it("the s3 profile keeps the SDK's checksum headers (so the check above can see them)", async () => {
    const s = await multipartResponder();
    const store = createBlobStore(
      { endpoint: s.endpoint, region: "us-east-1", accessKeyId: "k", secretAccessKey: "s", bucket: "b", profile: "s3" },
      { probeCacheDir: false, logger: pino({ level: "silent" }) },
    );
    await store.put("small/key", new Uint8Array(1000));
    expect(checksumHeaders(s.requests[0]!).length).toBeGreaterThan(0);
    store.close();
  });
});

describe("a blob PUT with the caller's sha2-256", () => {
  const body = new Uint8Array(64 * 1024).fill(7);
  const digest = createHash("sha256").update(body).digest();
  for (const profile of ["s3", "o3"] as const) {
    it(`signs that digest and sends no flexible checksum, while other PUTs of the store keep the profile's (${profile} profile)`, async () => {
      const s = await multipartResponder();
      const store = createBlobStore(
        { endpoint: s.endpoint, region: "us-east-1", accessKeyId: "k", secretAccessKey: "s", bucket: "b", profile },
        { probeCacheDir: false, logger: pino({ level: "silent" }) },
      );
      await store.put("blob/key", body, { sha256: digest });
      await store.put("other/key", body);
      const [hashed, other] = s.requests.filter((r) => r.method === "PUT");
      expect(hashed!.headers["x-amz-content-sha256"]).toBe(digest.toString("hex"));
      expect(checksumHeaders(hashed!)).toEqual([]);
      expect(checksumHeaders(other!).length > 0).toBe(profile === "s3");
      // Both went over the store's one pool of kept-alive connections.
      expect(new Set(s.requests.map((r) => r.remotePort)).size).toBe(1);
      store.close();
    });
  }
});

describe("operations that require a checksum", () => {
  it("carry Content-MD5 instead of a flexible checksum in the O3 profile", async () => {
    server = await startFaultServer((_req, res) => ok(res, "<DeleteResult></DeleteResult>"));
    const client = createS3Client({ endpoint: server.endpoint, region: "akave-network", accessKeyId: "k", secretAccessKey: "s", bucket: "b", profile: "o3" });
    await client.send(new DeleteObjectsCommand({ Bucket: "b", Delete: { Objects: [{ Key: "x" }, { Key: "y" }] } }));
    const [req] = server.requests;
    expect(checksumHeaders(req!)).toEqual([]);
    expect(req!.headers["content-md5"]).toBe(createHash("md5").update(req!.body).digest("base64"));
    client.destroy();
  });
});
