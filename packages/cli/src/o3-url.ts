import { O3mlError } from "@o3ml/errors";
import { DEFAULT_BUCKET } from "@o3ml/o3-client/config";

/**
 * `o3://<bucket>/<key>` URLs, read by the rules of the Python side
 * (python-plugins/src/o3ml/_o3_url.py), so a URL copied from a training
 * script names the same object here. One service serves one bucket,
 * O3ML_BUCKET (default o3ml) as the service reads it; a URL naming another
 * bucket is refused rather than read from or written to the wrong place.
 * Anything without the scheme is a key as it is.
 */
const SCHEME = "o3://";

/** The bucket the service serves, configured as the service reads it. */
function serviceBucket(): string {
  return process.env.O3ML_BUCKET || DEFAULT_BUCKET;
}

function split(path: string, address: string): string | undefined {
  if (!path.startsWith(SCHEME)) return undefined;
  const rest = path.slice(SCHEME.length);
  const slash = rest.indexOf("/");
  const named = slash < 0 ? rest : rest.slice(0, slash);
  const bucket = serviceBucket();
  if (named !== bucket) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `${JSON.stringify(path)} names bucket ${JSON.stringify(named)}, but the o3ml service at ${address} serves bucket ${JSON.stringify(bucket)}: ` +
        `write o3://${bucket}/<key>, or set O3ML_SERVICE and O3ML_BUCKET to a service of that bucket`,
      { bucket: named, serviceBucket: bucket },
    );
  }
  return slash < 0 ? "" : rest.slice(slash + 1);
}

/** The object key `path` names: `o3://bucket/key` (slashes around the key dropped, as Python does) or a plain key. */
export function objectKey(path: string, address: string): string {
  const key = split(path, address);
  return key === undefined ? path : key.replace(/^\/+|\/+$/g, "");
}

/** A key prefix: as objectKey, but a trailing slash stays, since `runs/` and `runs` list different keys. */
export function keyPrefix(path: string, address: string): string {
  const key = split(path, address);
  return key === undefined ? path : key.replace(/^\/+/, "");
}
