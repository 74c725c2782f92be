import { O3mlError } from "@o3ml/errors";

/**
 * Where the bucket lives and how to reach it.
 *
 * `profile` selects the client settings: "o3" is the Akave O3 profile (see
 * o3-profile.ts), "s3" the plain AWS SDK behaviour for AWS S3 itself.
 */
export interface O3Config {
  /** http(s) URL of the S3 API, or file:///folder for a local directory store; undefined means AWS S3 for `region`. */
  endpoint?: string;
  region: string;
  /** Both keys unset: the AWS SDK's default credential chain decides. */
  accessKeyId?: string;
  secretAccessKey?: string;
  bucket: string;
  profile: "o3" | "s3";
}

export const DEFAULT_REGION = "akave-network";
export const DEFAULT_BUCKET = "o3ml";

/**
 * Reads the configuration from the environment: each O3ML_* variable first,
 * then the standard AWS variable it stands in for, then the default.
 * The profile is "s3" only for an AWS endpoint; every other endpoint gets the
 * O3 profile, whose settings are also safe on MinIO, moto and AWS itself.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): O3Config {
  const endpoint = pick(env, "O3ML_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL");
  const config: O3Config = {
    region: pick(env, "O3ML_REGION", "AWS_REGION", "AWS_DEFAULT_REGION") ?? DEFAULT_REGION,
    bucket: pick(env, "O3ML_BUCKET") ?? DEFAULT_BUCKET,
    profile: endpoint !== undefined && isAwsEndpoint(endpoint) ? "s3" : "o3",
  };
  if (endpoint !== undefined) config.endpoint = validateEndpoint(endpoint, sourceOf(env, "O3ML_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"));
  const accessKeyId = pick(env, "O3ML_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID");
  const secretAccessKey = pick(env, "O3ML_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY");
  if (accessKeyId !== undefined) config.accessKeyId = accessKeyId;
  if (secretAccessKey !== undefined) config.secretAccessKey = secretAccessKey;
  return config;
}

/**
 * Checks that `endpoint` is an absolute http(s) URL and returns it without a
 * trailing slash. `source` names the setting it came from, for the message.
 */
export function validateEndpoint(endpoint: string, source = "O3ML_ENDPOINT"): string {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  // file:///path selects the local directory store (local-dir-store.ts).
  if (url?.protocol === "file:" && url.pathname.length > 1 && !url.host && !url.search && !url.hash) return `file://${url.pathname.replace(/\/+$/, "")}`;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `${source} must be an http:// or https:// URL such as https://o3-rc2.akave.xyz or http://127.0.0.1:9000 (or file:///absolute/folder for a local directory store), got ${JSON.stringify(endpoint)}`,
      { setting: source },
    );
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `${source} must be a plain http(s) URL without credentials, query or fragment, got ${url.protocol}//${url.host}${url.pathname}`,
      { setting: source },
    );
  }
  return endpoint.replace(/\/+$/, "");
}

/**
 * The configuration as safe to log: never the secret key, and only the first
 * characters of the access key id (enough to tell two keys apart).
 */
export function describeConfig(config: O3Config): Record<string, string> {
  return {
    endpoint: config.endpoint ?? `AWS S3 (${config.region})`,
    region: config.region,
    bucket: config.bucket,
    profile: config.profile,
    accessKeyId: config.accessKeyId ? maskKeyId(config.accessKeyId) : "(default credential chain)",
    secretAccessKey: config.secretAccessKey ? "(set)" : "(unset)",
  };
}

function maskKeyId(id: string): string {
  return id.length <= 4 ? "****" : `${id.slice(0, 4)}****`;
}

function isAwsEndpoint(endpoint: string): boolean {
  try {
    return new URL(endpoint).hostname.endsWith(".amazonaws.com");
  } catch {
    return false;
  }
}

/** The first of `names` set to a non-empty value in `env`. */
function pick(env: NodeJS.ProcessEnv, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

function sourceOf(env: NodeJS.ProcessEnv, ...names: string[]): string {
  return names.find((n) => env[n]?.trim()) ?? names[0]!;
}
