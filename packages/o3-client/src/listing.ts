import { ListObjectsV2Command, type ListObjectsV2CommandOutput } from "@aws-sdk/client-s3";
import { O3mlError } from "@o3ml/errors";
import type { Capabilities, ListedObject, ListPage } from "./blob-store.js";
import { s3Call, type S3Target } from "./s3-target.js";

/** S3 returns at most this many keys per ListObjectsV2 call. */
export const MAX_PAGE_SIZE = 1000;

/**
 * S3 orders keys by their UTF-8 bytes; JavaScript's `<` compares UTF-16 code
 * units, which disagrees for characters above U+FFFF.
 */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/**
 * One page of keys under `prefix` strictly after `after`.
 *
 * Where the probe found StartAfter honoured, one ListObjectsV2 with
 * StartAfter and MaxKeys. Where it did not but ContinuationToken paging
 * works, the listing is walked from the start and the keys up to `after`
 * skipped: correct, at a cost growing with `after`'s position. With neither,
 * only the server's first page can be had, and a longer listing fails with
 * UNIMPLEMENTED rather than silently missing keys. In every case the answer
 * is re-checked here: keys outside the prefix or not after `after` are
 * dropped and a page longer than asked is cut.
 */
export async function listPageOf(t: S3Target, caps: Capabilities, prefix: string, after: string | undefined, pageSize: number): Promise<ListPage> {
  const size = Math.min(pageSize, MAX_PAGE_SIZE);
  if (caps.listStartAfter !== false) {
    const out = await listCall(t, { prefix, startAfter: after, maxKeys: size });
    return toPage(keep(out, prefix, after), size, out.IsTruncated === true);
  }
  const found: ListedObject[] = [];
  let token: string | undefined;
  for (;;) {
    const out = await listCall(t, { prefix, continuationToken: token });
    found.push(...keep(out, prefix, after));
    if (found.length > size || !out.IsTruncated) return toPage(found, size, out.IsTruncated === true);
    if (!caps.listPagination) throw cannotPage(t, prefix);
    token = nextToken(t, prefix, out, token);
  }
}

/**
 * Every key under `prefix`, in key order: ContinuationToken paging where the
 * probe found it working (the way S3 means listings to be walked), else page
 * by page through listPageOf. Keys never repeat and never go backwards.
 */
export async function* listAll(t: S3Target, caps: Capabilities, prefix: string): AsyncGenerator<ListedObject> {
  let last: string | undefined;
  if (!caps.listPagination) {
    for (;;) {
      const page = await listPageOf(t, caps, prefix, last, MAX_PAGE_SIZE);
      yield* page.objects;
      if (page.next === undefined) return;
      last = page.next;
    }
  }
  let token: string | undefined;
  for (;;) {
    const out = await listCall(t, { prefix, continuationToken: token, maxKeys: MAX_PAGE_SIZE });
    for (const o of keep(out, prefix, last)) {
      last = o.key;
      yield o;
    }
    if (!out.IsTruncated) return;
    token = nextToken(t, prefix, out, token);
  }
}

async function listCall(t: S3Target, q: { prefix: string; startAfter?: string; continuationToken?: string; maxKeys?: number }): Promise<ListObjectsV2CommandOutput> {
  return s3Call(t, `listing ${JSON.stringify(q.prefix)} in`, undefined, () =>
    t.client.send(
      new ListObjectsV2Command({
        Bucket: t.bucket,
        Prefix: q.prefix || undefined,
        StartAfter: q.startAfter,
        ContinuationToken: q.continuationToken,
        MaxKeys: q.maxKeys,
      }),
    ),
  );
}

/** The listed objects under `prefix` strictly after `after`, in key order. */
function keep(out: ListObjectsV2CommandOutput, prefix: string, after: string | undefined): ListedObject[] {
  const objects: ListedObject[] = [];
  for (const o of out.Contents ?? []) {
    const key = o.Key;
    if (key === undefined || !key.startsWith(prefix)) continue;
    if (after !== undefined && compareKeys(key, after) <= 0) continue;
    objects.push({ key, size: o.Size ?? 0, ...(o.LastModified ? { lastModified: o.LastModified.getTime() } : {}) });
  }
  // Servers answer in order; sort only if this one did not.
  const ordered = objects.every((o, i) => i === 0 || compareKeys(objects[i - 1]!.key, o.key) < 0);
  return ordered ? objects : objects.sort((a, b) => compareKeys(a.key, b.key));
}

function toPage(objects: ListedObject[], size: number, truncated: boolean): ListPage {
  const page = objects.slice(0, size);
  const more = truncated || objects.length > size;
  return more && page.length > 0 ? { objects: page, next: page[page.length - 1]!.key } : { objects: page };
}

function nextToken(t: S3Target, prefix: string, out: ListObjectsV2CommandOutput, previous: string | undefined): string {
  const token = out.NextContinuationToken;
  if (!token || token === previous) throw cannotPage(t, prefix);
  return token;
}

function cannotPage(t: S3Target, prefix: string): O3mlError {
  return new O3mlError(
    "UNIMPLEMENTED",
    `cannot list past the first page of ${JSON.stringify(prefix)} in bucket ${t.bucket} at ${t.endpoint}: the endpoint's ListObjectsV2 pagination does not work (capability probe)`,
    { endpoint: t.endpoint, bucket: t.bucket, prefix },
  );
}
