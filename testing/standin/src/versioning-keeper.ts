import { PutBucketVersioningCommand, type S3Client } from "@aws-sdk/client-s3";

/**
 * Keeps versioning on for every bucket used through the O3-profile layer, as
 * it always is on O3. Right after a CreateBucket succeeds (before the client
 * hears of it) versioning is enabled with this layer's own signed call to the
 * upstream; buckets that already existed are switched on before the first
 * write reaches them. Each bucket is switched on once per layer lifetime.
 */
export class VersioningKeeper {
  private readonly enabled = new Map<string, Promise<void>>();

  constructor(private readonly client: S3Client) {}

  /** Enables versioning now, whatever was done before (after CreateBucket). */
  enable(bucket: string): Promise<void> {
    const p = this.client
      .send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }))
      .then(() => undefined);
    this.enabled.set(bucket, p);
    p.catch(() => this.enabled.delete(bucket));
    return p;
  }

  /**
   * Makes sure versioning is on before a write. Failures are swallowed: a
   * bucket that does not exist is for the upstream to report on the write.
   */
  async ensure(bucket: string): Promise<void> {
    await (this.enabled.get(bucket) ?? this.enable(bucket)).catch(() => undefined);
  }

  /** After DeleteBucket: a bucket recreated under the same name starts over. */
  forget(bucket: string): void {
    this.enabled.delete(bucket);
  }
}

/** True when a PutBucketVersioning body asks for anything but Enabled. */
export function suspendsVersioning(body: string): boolean {
  const status = /<Status>\s*([^<]*?)\s*<\/Status>/.exec(body)?.[1];
  return status !== undefined && status !== "Enabled";
}
