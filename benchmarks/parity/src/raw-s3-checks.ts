/**
 * The raw S3 operations o3ml's workflows rest on, sent with the AWS SDK and
 * the O3 profile's client settings, so that a row failing here explains a
 * workflow failing further down. Ranged GET, pagination and If-None-Match
 * are undocumented on O3 (docs/o3-vs-s3.md): where the endpoint does not honour
 * them the row says `fallback` and names the fallback o3ml uses instead.
 */
import { randomBytes } from "node:crypto";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { expect, type WorkflowCheck } from "./parity-matrix.js";
import type { TargetSession } from "./target-session.js";

const KiB = 1024;
const MiB = 1024 * KiB;

export function rawS3Checks(s: TargetSession): WorkflowCheck[] {
  const { s3, target } = s;
  const Bucket = target.bucket;
  const base = `${s.prefix}/raw`;
  const body = new Uint8Array(randomBytes(256 * KiB));
  const get = async (Key: string, Range?: string) => {
    const out = await s3.send(new GetObjectCommand({ Bucket, Key, Range }));
    return Buffer.from(await out.Body!.transformToByteArray());
  };
  return [
    {
      workflow: "raw PutObject (256 KiB)",
      layer: "raw S3",
      about: "single PUT with the O3 profile (no flexible checksums)",
      run: async () => {
        const out = await s3.send(new PutObjectCommand({ Bucket, Key: `${base}/a`, Body: body }));
        return `ETag ${/^"?[0-9a-f]{32}"?$/.test(out.ETag ?? "") ? "hex MD5" : "not hex MD5 (base64, as O3)"}`;
      },
    },
    {
      workflow: "raw GetObject",
      layer: "raw S3",
      about: "whole-object GET, bytes compared",
      run: async () => expect(Buffer.from(body).equals(await get(`${base}/a`)), "GET returned other bytes than were PUT"),
    },
    {
      workflow: "raw HeadObject",
      layer: "raw S3",
      about: "size, and O3's Network-State header where sent",
      run: async () => {
        let state: string | undefined;
        const head = new HeadObjectCommand({ Bucket, Key: `${base}/a` });
        head.middlewareStack.add(
          (next) => async (args) => {
            const out = await next(args);
            const headers = (out.response as { headers?: Record<string, string> }).headers ?? {};
            state = headers["network-state"];
            return out;
          },
          { step: "deserialize", name: "parityNetworkState" },
        );
        const out = await s3.send(head);
        expect(out.ContentLength === body.byteLength, `HEAD says ${out.ContentLength} bytes, ${body.byteLength} were PUT`);
        return state ? `Network-State: ${state}` : "no Network-State header (plain S3)";
      },
    },
    {
      workflow: "raw ListObjectsV2 pagination",
      layer: "raw S3",
      about: "5 keys, MaxKeys=2, ContinuationToken; falls back to StartAfter listing",
      run: async () => {
        const keys = [0, 1, 2, 3, 4].map((i) => `${base}/list/${i}`);
        for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket, Key, Body: body.subarray(0, 200) }));
        const seen: string[] = [];
        let ContinuationToken: string | undefined;
        do {
          const page = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: `${base}/list/`, MaxKeys: 2, ContinuationToken }));
          seen.push(...(page.Contents ?? []).map((o) => o.Key!));
          ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (ContinuationToken);
        if (JSON.stringify(seen) !== JSON.stringify(keys)) {
          return { status: "fallback", notes: `continuation listing gave ${seen.length} of 5 keys in order; o3ml lists by StartAfter` };
        }
      },
    },
    {
      workflow: "raw multipart upload (5 MiB + 1 MiB)",
      layer: "raw S3",
      about: "Create/UploadPart/Complete at Akave's 5 MiB minimum part, bytes compared",
      run: async () => {
        const Key = `${base}/mpu`;
        const data = randomBytes(6 * MiB);
        const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
        const parts = [data.subarray(0, 5 * MiB), data.subarray(5 * MiB)];
        const done = [];
        for (const [i, Body] of parts.entries()) {
          const out = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body }));
          done.push({ ETag: out.ETag, PartNumber: i + 1 });
        }
        await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: done } }));
        expect(data.equals(await get(Key)), "the completed multipart object differs from its parts");
      },
    },
    {
      workflow: "raw ranged GET",
      layer: "raw S3",
      about: "Range: bytes=1000-1999; o3ml slices a full GET where it is ignored",
      run: async () => {
        const got = await get(`${base}/a`, "bytes=1000-1999");
        if (!got.equals(Buffer.from(body.subarray(1000, 2000)))) {
          return { status: "fallback", notes: `Range ignored (${got.length} bytes back); o3ml reads whole objects and slices` };
        }
      },
    },
    {
      workflow: "raw conditional PUT (If-None-Match: *)",
      layer: "raw S3",
      about: "a second PUT of an existing key must be refused; o3ml falls back to HEAD before PUT",
      run: async () => {
        try {
          await s3.send(new PutObjectCommand({ Bucket, Key: `${base}/a`, Body: body, IfNoneMatch: "*" }));
        } catch (err) {
          const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status === 412) return "refused with 412";
          throw err;
        }
        return { status: "fallback", notes: "overwrite accepted; o3ml's ifAbsent uses HEAD before PUT here" };
      },
    },
    {
      workflow: "raw DeleteObject + versions",
      layer: "raw S3",
      about: "delete every version (O3 keeps all; a plain delete only adds a marker)",
      run: async () => {
        const Key = `${base}/a`;
        await s3.send(new DeleteObjectCommand({ Bucket, Key }));
        const versions = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: Key }));
        const all = [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].filter((v) => v.Key === Key);
        for (const v of all) if (v.VersionId && v.VersionId !== "null") await s3.send(new DeleteObjectCommand({ Bucket, Key, VersionId: v.VersionId }));
        const left = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: Key }));
        const remaining = [...(left.Versions ?? []), ...(left.DeleteMarkers ?? [])].filter((v) => v.Key === Key && v.VersionId !== "null").length;
        expect(remaining === 0, `${remaining} versions left after deleting each`);
        return all.length > 1 ? `versioned: ${all.length} versions/markers removed` : "unversioned: the delete removed it";
      },
    },
    {
      workflow: "raw PutObject with SDK-default checksums",
      layer: "raw S3",
      about: "the AWS SDK's defaults (CRC flexible checksums); O3 refuses them, which is why o3ml sends WHEN_REQUIRED",
      run: async () => {
        const plain = new S3Client({
          endpoint: target.endpoint,
          region: target.region,
          forcePathStyle: true,
          credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
          maxAttempts: 1,
        });
        try {
          await plain.send(new PutObjectCommand({ Bucket, Key: `${base}/sdk-default`, Body: body }));
          return "accepted";
        } catch (err) {
          return { status: "fail", expected: target.name === "o3", notes: `refused as on Akave O3 (${(err as Error).name}: ${(err as Error).message.slice(0, 120)}); o3ml never sends these headers` };
        } finally {
          plain.destroy();
        }
      },
    },
    {
      workflow: "capability probe",
      layer: "o3ml",
      about: "what o3ml's probe records for the endpoint (drives every fallback)",
      run: async () => {
        const c = await s.store.capabilities();
        const flags = Object.entries(c).filter(([k]) => k !== "probedAt");
        const on = flags.filter(([, v]) => v === true).map(([k]) => k);
        const off = flags.filter(([, v]) => v === false).map(([k]) => k);
        // Only these have a fallback; missing Network-* headers or versioning change what is tracked, not whether it works.
        const fallbacks = off.filter((k) => ["rangeGet", "listPagination", "listStartAfter", "conditionalPut"].includes(k));
        const notes = `yes: ${on.join(", ") || "none"}; no: ${off.join(", ") || "none"}`;
        return fallbacks.length ? { status: "fallback", notes } : notes;
      },
    },
  ];
}
