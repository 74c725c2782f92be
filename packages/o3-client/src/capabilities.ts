import { randomBytes } from "node:crypto";
import {
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { O3mlError } from "@o3ml/errors";
import type { Logger } from "pino";
import type { Capabilities } from "./blob-store.js";
import { captureNetworkHeaders } from "./network-headers.js";
import { deleteEveryVersion } from "./object-versions.js";
import { s3Call, type S3Target } from "./s3-target.js";

/** Probe objects stay above Akave's 127-byte minimum file size. */
const PROBE_OBJECT_SIZE = 256;
export const PROBE_PREFIX = ".o3ml-probe/";

/**
 * Finds out which S3 features the endpoint really supports for this bucket,
 * since Akave documents none of them: ranged GET, ListObjectsV2 pagination,
 * If-None-Match on PUT, its Network-* headers and versioning. Writes three
 * (four) small objects under a fresh prefix and removes every version of them
 * afterwards.
 *
 * A capability is false only when the endpoint answered and the answer was
 * wrong or a refusal; network and credential failures abort the probe, so a
 * flaky moment is never recorded as a missing feature.
 */
export async function probeCapabilities(target: S3Target, logger?: Logger): Promise<Capabilities> {
  const prefix = `${PROBE_PREFIX}${Date.now().toString(36)}-${randomBytes(6).toString("hex")}/`;
  const keys = [`${prefix}a`, `${prefix}b`, `${prefix}c`];
  const conditionalKey = `${prefix}d`;
  const bodies = keys.map(() => new Uint8Array(randomBytes(PROBE_OBJECT_SIZE)));
  try {
    for (const [i, key] of keys.entries()) {
      await s3Call(target, "writing probe object", key, () =>
        target.client.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: bodies[i] })),
      );
    }
    const versioning = await unlessRefused(() => probeVersioning(target));
    return {
      rangeGet: await unlessRefused(() => probeRangeGet(target, keys[0]!, bodies[0]!)),
      listPagination: await unlessRefused(() => probeContinuation(target, prefix, keys)),
      listStartAfter: await unlessRefused(() => probeStartAfter(target, prefix, keys)),
      conditionalPut: await unlessRefused(() => probeConditionalPut(target, conditionalKey)),
      networkHeaders: await unlessRefused(() => probeNetworkHeaders(target, keys[0]!)),
      versioning,
      probedAt: new Date().toISOString(),
    };
  } finally {
    for (const key of [...keys, conditionalKey]) {
      // Best effort: a leftover probe object costs 256 bytes, losing the probe's answer costs more.
      await removeProbeObject(target, key).catch((err: unknown) =>
        logger?.warn({ key, err: String(err) }, "could not remove a capability probe object; delete it by hand"),
      );
    }
  }
}

async function probeRangeGet(t: S3Target, key: string, body: Uint8Array): Promise<boolean> {
  const out = await s3Call(t, "probing ranged GET of", key, () => t.client.send(new GetObjectCommand({ Bucket: t.bucket, Key: key, Range: "bytes=100-109" })));
  const got = await out.Body!.transformToByteArray();
  return Buffer.from(got).equals(Buffer.from(body.subarray(100, 110)));
}

/** MaxKeys=1 and ContinuationToken must yield the three keys, one per page, in order. */
async function probeContinuation(t: S3Target, prefix: string, keys: string[]): Promise<boolean> {
  const seen: string[] = [];
  let token: string | undefined;
  for (let page = 0; page <= keys.length + 1; page++) {
    const out = await s3Call(t, "probing list pagination in", undefined, () =>
      t.client.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: prefix, MaxKeys: 1, ContinuationToken: token })),
    );
    const got = (out.Contents ?? []).map((o) => o.Key ?? "");
    if (got.length > 1) return false;
    seen.push(...got);
    if (!out.IsTruncated) return JSON.stringify(seen) === JSON.stringify(keys);
    if (!out.NextContinuationToken || out.NextContinuationToken === token) return false;
    token = out.NextContinuationToken;
  }
  return false;
}

async function probeStartAfter(t: S3Target, prefix: string, keys: string[]): Promise<boolean> {
  const out = await s3Call(t, "probing list StartAfter in", undefined, () =>
    t.client.send(new ListObjectsV2Command({ Bucket: t.bucket, Prefix: prefix, MaxKeys: 1, StartAfter: keys[0] })),
  );
  const got = (out.Contents ?? []).map((o) => o.Key);
  return got.length === 1 && got[0] === keys[1] && out.IsTruncated === true;
}

/** The first conditional PUT of a new key must succeed and the second be refused with 412. */
async function probeConditionalPut(t: S3Target, key: string): Promise<boolean> {
  const put = () =>
    s3Call(t, "probing conditional PUT of", key, () =>
      t.client.send(new PutObjectCommand({ Bucket: t.bucket, Key: key, Body: new Uint8Array(randomBytes(PROBE_OBJECT_SIZE)), IfNoneMatch: "*" })),
    );
  await put();
  try {
    await put();
    return false;
  } catch (err) {
    if (err instanceof O3mlError && err.code === "ALREADY_EXISTS") return true;
    throw err;
  }
}

async function probeNetworkHeaders(t: S3Target, key: string): Promise<boolean> {
  const command = new HeadObjectCommand({ Bucket: t.bucket, Key: key });
  const headers = captureNetworkHeaders(command);
  await s3Call(t, "probing HEAD of", key, () => t.client.send(command));
  const h = headers();
  return h.networkState !== undefined || h.networkRootCid !== undefined;
}

/** "Suspended" counts: versions written while it was enabled still need deleting one by one. */
async function probeVersioning(t: S3Target): Promise<boolean> {
  const out = await s3Call(t, "probing versioning of", undefined, () => t.client.send(new GetBucketVersioningCommand({ Bucket: t.bucket })));
  return out.Status === "Enabled" || out.Status === "Suspended";
}

/** An answer that says "not supported", as opposed to "could not ask". */
const REFUSALS = new Set(["INVALID_ARGUMENT", "UNIMPLEMENTED", "FAILED_PRECONDITION", "NOT_FOUND", "ALREADY_EXISTS", "INTERNAL"]);

async function unlessRefused(step: () => Promise<boolean>): Promise<boolean> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof O3mlError && REFUSALS.has(err.code)) return false;
    throw err;
  }
}

/** Every version of a probe object; a plain delete where the endpoint cannot list versions. */
async function removeProbeObject(t: S3Target, key: string): Promise<void> {
  try {
    await deleteEveryVersion(t, key);
  } catch (err) {
    if (!(err instanceof O3mlError && (err.code === "UNIMPLEMENTED" || err.code === "INVALID_ARGUMENT"))) throw err;
    await s3Call(t, "deleting probe object", key, () => t.client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: key })));
  }
}
