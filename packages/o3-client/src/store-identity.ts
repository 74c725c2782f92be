/**
 * Which store a metadata record belongs to: one bucket at one endpoint, as
 * the string the metadata index keys every record by
 * (packages/metadata/src/schema.ts). One index may serve several stores (one
 * O3ML_HOME used with two buckets, one PostgreSQL database behind several
 * services), and each must see only its own records.
 *
 * Spellings of one URL give one identity: scheme and host in lower case and
 * the scheme's default port dropped (as WHATWG URL parsing does), trailing
 * slashes of the path dropped. Names that merely resolve to one host
 * (localhost and 127.0.0.1) stay two stores: telling them apart would take a
 * DNS lookup whose answer can change, and an identity must not. A bucket name
 * never contains "/", so the last path segment is always the bucket.
 */
export function storeIdentity(endpoint: string, bucket: string): string {
  const url = new URL(endpoint);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}/${bucket}`;
}
