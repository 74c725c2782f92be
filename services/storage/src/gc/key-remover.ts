import type { BlobStore } from "@o3ml/o3-client";

/** How many versions a ListObjectVersions page holds at most (S3's default and maximum). */
const VERSIONS_PER_PAGE = 1000;

/** Removes a key a collection deletes: every version and delete marker of it. */
export type RemoveKey = (key: string) => Promise<void>;

/**
 * How a collection removes `keys`, all under `prefix`, where about `listedUnder` objects are.
 *
 * On a versioned store (Akave O3 always is) removing a key means deleting each of its
 * versions, and `BlobStore.delete` first lists the key's own versions: one ListObjectVersions
 * per key. When the keys outnumber the pages of one listing of every version under `prefix`,
 * that listing is made once, here, and each key's versions are deleted from it. A version
 * written after the listing (the same blob uploaded again meanwhile) is not deleted: the key
 * then keeps that one, and the next collection judges it afresh. A key the listing did not
 * show is removed the usual way.
 */
export async function keyRemover(store: BlobStore, prefix: string, keys: readonly string[], listedUnder: number): Promise<RemoveKey> {
  const oneByOne: RemoveKey = (key) => store.delete(key);
  if (keys.length <= Math.ceil(listedUnder / VERSIONS_PER_PAGE) || !(await store.capabilities()).versioning) return oneByOne;
  const wanted = new Set(keys);
  const versions = new Map<string, string[]>();
  for await (const v of store.listVersions(prefix)) {
    if (!wanted.has(v.key)) continue;
    const ids = versions.get(v.key);
    if (ids) ids.push(v.versionId);
    else versions.set(v.key, [v.versionId]);
  }
  return async (key) => {
    const ids = versions.get(key);
    if (!ids) return oneByOne(key);
    for (const id of ids) await store.deleteVersion(key, id);
  };
}
