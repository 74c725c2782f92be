/** A running S3-compatible endpoint on loopback. */
export interface S3Server {
  readonly kind: "moto" | "minio" | "o3-profile";
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** True when the server keeps data only in memory (lost when it stops). */
  readonly ephemeral: boolean;
  stop(): Promise<void>;
}
