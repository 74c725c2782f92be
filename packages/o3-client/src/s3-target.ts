import type { S3Client } from "@aws-sdk/client-s3";
import { toO3mlError } from "./s3-errors.js";

/** One bucket on one endpoint, as the helpers of this package address it. */
export interface S3Target {
  readonly client: S3Client;
  readonly endpoint: string;
  readonly bucket: string;
  /** Never to appear in an error message. */
  readonly secrets: readonly string[];
}

/** Runs one S3 call and maps whatever it throws to O3mlError (s3-errors.ts). */
export async function s3Call<T>(target: S3Target, op: string, key: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toO3mlError(err, { endpoint: target.endpoint, bucket: target.bucket, key, op, secrets: target.secrets });
  }
}
