import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startO3Profile, type O3ProfileServer } from "./o3-profile.js";
import { repoRoot } from "./repo-root.js";
import { s3ClientFor } from "./s3-client-for.js";
import type { S3Server } from "./s3-server.js";
import { uniqueBucket, upstreamCases } from "./upstreams.fixture.js";

const MiB = 1024 * 1024;
const HOUR = 3600_000;
const python = join(repoRoot() ?? ".", ".venv", "bin", "python");
const boto3Script = fileURLToPath(new URL("./o3-profile-conditions.boto3.py", import.meta.url));

interface Outcome {
  status: number;
  code?: string;
  etag?: string;
  body?: string;
}

/** The status of an SDK call, whether it succeeded or not; a GET's body is read. */
async function outcome(call: Promise<{ $metadata: { httpStatusCode?: number }; ETag?: string; Body?: unknown }>): Promise<Outcome> {
  try {
    const out = await call;
    const body = out.Body as { transformToString(): Promise<string> } | undefined;
    return { status: out.$metadata.httpStatusCode ?? 0, etag: out.ETag, body: await body?.transformToString() };
  } catch (err) {
    if (!(err instanceof S3ServiceException)) throw err;
    return { status: err.$metadata.httpStatusCode ?? 0, code: err.name, etag: err.$response?.headers.etag };
  }
}

/** Runs each case and returns `{ case: status }`, to compare with the expected table in one go. */
async function statuses(cases: Record<string, () => Promise<Outcome>>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, run] of Object.entries(cases)) out[name] = (await run()).status;
  return out;
}

/** The upstream's hex form of an ETag the layer presented in base64. */
const hexForm = (etag: string) => `"${Buffer.from(etag.slice(1, -1).replace(/-\d+$/, ""), "base64").toString("hex")}"`;

for (const upstreamCase of upstreamCases()) {
  describe.skipIf(!upstreamCase.start)(`conditional requests through the O3-profile layer over ${upstreamCase.name}`, { timeout: 30_000 }, () => {
    let upstream: S3Server;
    let proxy: O3ProfileServer;
    let s3: S3Client;
    let bucket: string;
    /** A plain object, its presented ETag and Last-Modified. */
    let etag: string;
    let before: Date;
    let modified: Date;
    let after: Date;

    /** A two-part upload (5 MiB + 1 KiB, so the ETag ends in -2) completed with `conditions`. */
    async function multipart(key: string, conditions: { IfMatch?: string; IfNoneMatch?: string } = {}): Promise<Outcome> {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      const parts = [];
      for (const [n, body] of [Buffer.alloc(5 * MiB, 1), Buffer.alloc(1024, 2)].entries()) {
        const up = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n + 1, Body: body }));
        parts.push({ ETag: up.ETag, PartNumber: n + 1 });
      }
      return outcome(s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts }, ...conditions })));
    }

    beforeAll(async () => {
      upstream = await upstreamCase.start!();
      proxy = await startO3Profile(upstream);
      s3 = s3ClientFor(proxy, { maxAttempts: 1 });
      bucket = uniqueBucket("o3p-cond");
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      etag = (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "obj", Body: "conditional body" }))).ETag!;
      modified = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "obj" }))).LastModified!;
      before = new Date(modified.getTime() - HOUR);
      after = new Date(modified.getTime() + HOUR);
    }, 60_000);
    afterAll(async () => {
      s3?.destroy();
      await proxy?.stop();
      await upstream?.stop();
    }, 30_000);

    it("judges GetObject and HeadObject conditions on the ETag it presents, in RFC 9110's order", async () => {
      expect(etag).toMatch(/^"[A-Za-z0-9+/]{22}=="$/);
      for (const Command of [GetObjectCommand, HeadObjectCommand]) {
        const send = (input: Partial<ConstructorParameters<typeof GetObjectCommand>[0]>) =>
          () => outcome(s3.send(new Command({ Bucket: bucket, Key: "obj", ...input })));
        const got = await statuses({
          "If-Match presented": send({ IfMatch: etag }),
          "If-Match unquoted": send({ IfMatch: etag.slice(1, -1) }),
          "If-Match *": send({ IfMatch: "*" }),
          "If-Match list": send({ IfMatch: `"other", ${etag}` }),
          "If-Match weak": send({ IfMatch: `W/${etag}` }),
          "If-Match upstream hex": send({ IfMatch: hexForm(etag) }),
          "If-Match other": send({ IfMatch: '"other"' }),
          "If-None-Match presented": send({ IfNoneMatch: etag }),
          "If-None-Match weak": send({ IfNoneMatch: `W/${etag}` }),
          "If-None-Match *": send({ IfNoneMatch: "*" }),
          "If-None-Match list": send({ IfNoneMatch: `"other", ${etag}` }),
          "If-None-Match other": send({ IfNoneMatch: '"other"' }),
          "If-Modified-Since before": send({ IfModifiedSince: before }),
          "If-Modified-Since same": send({ IfModifiedSince: modified }),
          "If-Unmodified-Since before": send({ IfUnmodifiedSince: before }),
          "If-Unmodified-Since same": send({ IfUnmodifiedSince: modified }),
          "If-Match true, If-Unmodified-Since false": send({ IfMatch: etag, IfUnmodifiedSince: before }),
          "If-Match false, If-Unmodified-Since true": send({ IfMatch: '"other"', IfUnmodifiedSince: after }),
          "If-None-Match true, If-Modified-Since false": send({ IfNoneMatch: '"other"', IfModifiedSince: after }),
          "If-None-Match false, If-Modified-Since true": send({ IfNoneMatch: etag, IfModifiedSince: before }),
          "If-Match false, If-None-Match false": send({ IfMatch: '"other"', IfNoneMatch: etag }),
          "If-Unmodified-Since false, If-Modified-Since false": send({ IfUnmodifiedSince: before, IfModifiedSince: after }),
        });
        expect(got, Command.name).toEqual({
          "If-Match presented": 200,
          "If-Match unquoted": 200,
          "If-Match *": 200,
          "If-Match list": 200,
          "If-Match weak": 412,
          "If-Match upstream hex": 412,
          "If-Match other": 412,
          "If-None-Match presented": 304,
          "If-None-Match weak": 304,
          "If-None-Match *": 304,
          "If-None-Match list": 304,
          "If-None-Match other": 200,
          "If-Modified-Since before": 200,
          "If-Modified-Since same": 304,
          "If-Unmodified-Since before": 412,
          "If-Unmodified-Since same": 200,
          "If-Match true, If-Unmodified-Since false": 200,
          "If-Match false, If-Unmodified-Since true": 412,
          "If-None-Match true, If-Modified-Since false": 200,
          "If-None-Match false, If-Modified-Since true": 304,
          "If-Match false, If-None-Match false": 412,
          "If-Unmodified-Since false, If-Modified-Since false": 412,
        });
      }
      const failed = await outcome(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "obj", IfMatch: '"other"' })));
      expect(failed).toMatchObject({ status: 412, code: "PreconditionFailed" });
      const notModified = await outcome(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "obj", IfNoneMatch: etag })));
      expect(notModified).toMatchObject({ status: 304, etag });
    });

    it("serves a ranged GET with If-Match of the presented ETag (what s3fs sends), and refuses it once the object changed", async () => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "ranged", Body: "0123456789" }));
      const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "ranged" }));
      const ranged = () => outcome(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "ranged", Range: "bytes=2-5", IfMatch: ETag })));
      expect(await ranged()).toMatchObject({ status: 206, body: "2345", etag: ETag });
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "ranged", Body: "changed" }));
      expect(await ranged()).toMatchObject({ status: 412, code: "PreconditionFailed" });
    });

    it("takes a multipart object's ETag (<base64>-2) in If-Match and If-None-Match", async () => {
      expect((await multipart("mp")).status).toBe(200);
      const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "mp" }));
      expect(ETag).toMatch(/^"[A-Za-z0-9+/]{22}==-2"$/);
      const got = await statuses({
        "GET If-Match": () => outcome(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "mp", IfMatch: ETag }))),
        "ranged GET If-Match": () => outcome(s3.send(new GetObjectCommand({ Bucket: bucket, Key: "mp", Range: "bytes=0-9", IfMatch: ETag }))),
        "HEAD If-None-Match": () => outcome(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "mp", IfNoneMatch: ETag }))),
        "HEAD If-Match upstream hex": () => outcome(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "mp", IfMatch: hexForm(ETag!).replace(/"$/, '-2"') }))),
        "PUT If-Match": () => outcome(s3.send(new PutObjectCommand({ Bucket: bucket, Key: "mp", Body: "single", IfMatch: ETag }))),
      });
      expect(got).toEqual({ "GET If-Match": 200, "ranged GET If-Match": 206, "HEAD If-None-Match": 304, "HEAD If-Match upstream hex": 412, "PUT If-Match": 200 });
    });

    it("judges PutObject conditions: If-None-Match: * refuses an existing key, If-Match takes the presented ETag", async () => {
      const put = (Key: string, Body: string, conditions: { IfMatch?: string; IfNoneMatch?: string }) => () =>
        outcome(s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body, ...conditions })));
      const { ETag } = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "put", Body: "v1" }));
      const got = await statuses({
        "If-None-Match * existing": put("put", "no", { IfNoneMatch: "*" }),
        "If-None-Match presented": put("put", "no", { IfNoneMatch: ETag }),
        "If-Match other": put("put", "no", { IfMatch: '"other"' }),
        "If-Match upstream hex": put("put", "no", { IfMatch: hexForm(ETag!) }),
        "If-Match absent key": put("put-absent", "no", { IfMatch: ETag }),
        "If-None-Match * new": put("put-new", "yes", { IfNoneMatch: "*" }),
        "If-None-Match other": put("put", "v2", { IfNoneMatch: '"other"' }),
      });
      expect(got).toEqual({
        "If-None-Match * existing": 412,
        "If-None-Match presented": 412,
        "If-Match other": 412,
        "If-Match upstream hex": 412,
        "If-Match absent key": 404,
        "If-None-Match * new": 200,
        "If-None-Match other": 200,
      });
      const v2 = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "put" }));
      expect(await outcome(s3.send(new PutObjectCommand({ Bucket: bucket, Key: "put", Body: "v3", IfMatch: v2.ETag })))).toMatchObject({ status: 200 });
      expect(await outcome(s3.send(new PutObjectCommand({ Bucket: bucket, Key: "put", Body: "v4", IfMatch: v2.ETag })))).toMatchObject({
        status: 412,
        code: "PreconditionFailed",
      });
      const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "put" }))).Body!.transformToString();
      expect(body).toBe("v3");
      expect(await outcome(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "put-absent" })))).toMatchObject({ status: 404 });
    });

    it("judges CopyObject's x-amz-copy-source-if-* against the source, and If-None-Match against the destination", async () => {
      const copy = (input: Partial<ConstructorParameters<typeof CopyObjectCommand>[0]>, Key = "copy") => () =>
        outcome(s3.send(new CopyObjectCommand({ Bucket: bucket, Key, CopySource: `${bucket}/obj`, ...input })));
      const got = await statuses({
        "if-match presented": copy({ CopySourceIfMatch: etag }),
        "if-match other": copy({ CopySourceIfMatch: '"other"' }),
        "if-match upstream hex": copy({ CopySourceIfMatch: hexForm(etag) }),
        "if-none-match presented": copy({ CopySourceIfNoneMatch: etag }),
        "if-none-match other": copy({ CopySourceIfNoneMatch: '"other"' }),
        "if-modified-since before": copy({ CopySourceIfModifiedSince: before }),
        "if-modified-since after": copy({ CopySourceIfModifiedSince: after }),
        "if-unmodified-since before": copy({ CopySourceIfUnmodifiedSince: before }),
        "if-unmodified-since after": copy({ CopySourceIfUnmodifiedSince: after }),
        "if-match true, if-unmodified-since false": copy({ CopySourceIfMatch: etag, CopySourceIfUnmodifiedSince: before }),
        "if-none-match false, if-modified-since true": copy({ CopySourceIfNoneMatch: etag, CopySourceIfModifiedSince: before }),
        "if-none-match true, if-modified-since false": copy({ CopySourceIfNoneMatch: '"other"', CopySourceIfModifiedSince: after }),
        "source version, if-match presented": copy({ CopySource: `${bucket}/obj?versionId=${encodeURIComponent(
          (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "obj" }))).VersionId!)}`, CopySourceIfMatch: etag }),
        "destination If-None-Match * existing": copy({ IfNoneMatch: "*" }),
        "destination If-None-Match * new": copy({ IfNoneMatch: "*" }, "copy-new"),
        "destination If-Match other": copy({ IfMatch: '"other"' }),
      });
      expect(got).toEqual({
        "if-match presented": 200,
        "if-match other": 412,
        "if-match upstream hex": 412,
        "if-none-match presented": 412,
        "if-none-match other": 200,
        "if-modified-since before": 200,
        "if-modified-since after": 412,
        "if-unmodified-since before": 412,
        "if-unmodified-since after": 200,
        "if-match true, if-unmodified-since false": 200,
        "if-none-match false, if-modified-since true": 412,
        "if-none-match true, if-modified-since false": 200,
        "source version, if-match presented": 200,
        "destination If-None-Match * existing": 412,
        "destination If-None-Match * new": 200,
        "destination If-Match other": 412,
      });
      const failed = await copy({ CopySourceIfMatch: '"other"' })();
      expect(failed.code).toBe("PreconditionFailed");
    });

    it("judges UploadPartCopy's x-amz-copy-source-if-* against the source", async () => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "part-copy" }));
      const partCopy = (CopySourceIfMatch: string) => () =>
        outcome(s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: "part-copy", UploadId, PartNumber: 1, CopySource: `${bucket}/obj`, CopySourceIfMatch })));
      expect(await statuses({ presented: partCopy(etag), other: partCopy('"other"') })).toEqual({ presented: 200, other: 412 });
    });

    it("judges CompleteMultipartUpload conditions against the object it would replace", async () => {
      expect((await multipart("complete", { IfNoneMatch: "*" })).status).toBe(200);
      const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "complete" }));
      expect((await multipart("complete", { IfNoneMatch: "*" })).status).toBe(412);
      expect(await multipart("complete", { IfMatch: '"other"' })).toMatchObject({ status: 412, code: "PreconditionFailed" });
      expect((await multipart("complete-absent", { IfMatch: ETag })).status).toBe(404);
      expect((await multipart("complete", { IfMatch: ETag })).status).toBe(200);
    });

    it("checks the signature of the requests it re-signs", async () => {
      const intruder = s3ClientFor({ ...proxy, secretAccessKey: "not-the-secret" }, { maxAttempts: 1 });
      expect(await outcome(intruder.send(new GetObjectCommand({ Bucket: bucket, Key: "obj", IfMatch: etag })))).toMatchObject({
        status: 403,
        code: "SignatureDoesNotMatch",
      });
      const put = await outcome(intruder.send(new PutObjectCommand({ Bucket: bucket, Key: "intruder", Body: "x", IfNoneMatch: "*" })));
      expect(put).toMatchObject({ status: 403, code: "SignatureDoesNotMatch" });
      expect((await outcome(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "intruder" })))).status).toBe(404);
      intruder.destroy();
    });

    it("refuses, rather than breaks, conditions on a body signed chunk by chunk", async () => {
      const chunked = s3ClientFor(proxy, { maxAttempts: 1 });
      // The SDK signs whatever payload hash it finds; the layer must not re-sign what is chained to it.
      chunked.middlewareStack.add(
        (next) => async (args) => {
          (args.request as { headers: Record<string, string> }).headers["x-amz-content-sha256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
          return next(args);
        },
        { step: "build", name: "streamingPayload" },
      );
      const put = await outcome(chunked.send(new PutObjectCommand({ Bucket: bucket, Key: "chunked", Body: "x", IfNoneMatch: "*" })));
      expect(put).toMatchObject({ status: 501, code: "NotImplemented" });
      chunked.destroy();
    });

    const boto3Name = "gives boto3 the same answers, s3transfer's ranged download and multipart copy included";
    it.skipIf(!existsSync(python))(existsSync(python) ? boto3Name : `${boto3Name} (SKIPPED: ${python} is missing; npm run setup makes it)`, async () => {
      const args = { endpoint: proxy.endpoint, region: proxy.region, accessKeyId: proxy.accessKeyId, secretAccessKey: proxy.secretAccessKey, bucket };
      const { stdout } = await promisify(execFile)(python, [boto3Script, JSON.stringify(args)], { maxBuffer: 4 * MiB });
      const results = JSON.parse(stdout) as { case: string; expected: unknown; got: unknown }[];
      expect(results.length).toBeGreaterThan(40);
      const got = Object.fromEntries(results.map((r) => [r.case, r.got]));
      const expected = Object.fromEntries(results.map((r) => [r.case, r.expected]));
      expect(got).toEqual(expected);
    });
  });
}
