import { CreateBucketCommand, HeadBucketCommand, type BucketLocationConstraint } from "@aws-sdk/client-s3";
import { O3mlError } from "@o3ml/errors";
import type { Logger } from "pino";
import { validateBucketName } from "./bucket-name.js";
import { s3Call, type S3Target } from "./s3-target.js";

/**
 * Checks the bucket name against Akave's rules and that the bucket exists,
 * creating it when `create` is set. A missing bucket is FAILED_PRECONDITION
 * naming the bucket and the endpoint.
 */
export async function ensureBucket(t: S3Target, region: string, opts: { create?: boolean; logger?: Logger } = {}): Promise<void> {
  validateBucketName(t.bucket);
  try {
    await s3Call(t, "checking", undefined, () => t.client.send(new HeadBucketCommand({ Bucket: t.bucket })));
    return;
  } catch (err) {
    if (!(err instanceof O3mlError && err.code === "FAILED_PRECONDITION" && opts.create)) throw err;
  }
  await createBucket(t, region);
  opts.logger?.info({ endpoint: t.endpoint, bucket: t.bucket }, "bucket created");
}

/**
 * CreateBucket as the endpoint wants it. Akave's own examples send no
 * location constraint; AWS and moto refuse a request without one outside
 * us-east-1. So: without first, with the region as constraint if refused for
 * that reason. A bucket already ours (a concurrent creator) is success.
 */
async function createBucket(t: S3Target, region: string): Promise<void> {
  const create = (constraint?: string) =>
    s3Call(t, "creating", undefined, () =>
      t.client.send(
        new CreateBucketCommand({
          Bucket: t.bucket,
          CreateBucketConfiguration: constraint ? { LocationConstraint: constraint as BucketLocationConstraint } : undefined,
        }),
      ),
    );
  try {
    await create();
  } catch (err) {
    const s3Code = err instanceof O3mlError ? err.details.s3Code : undefined;
    if (s3Code === "BucketAlreadyOwnedByYou") return;
    if (s3Code !== "IllegalLocationConstraintException" && s3Code !== "InvalidLocationConstraint") throw err;
    try {
      await create(region);
    } catch (again) {
      if (again instanceof O3mlError && again.details.s3Code === "BucketAlreadyOwnedByYou") return;
      throw again;
    }
  }
}
