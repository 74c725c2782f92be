import { mapLimit, type BlobStore } from "@o3ml/o3-client";
import { O3mlError, isO3mlError } from "@o3ml/errors";
import { decodeEvent, eventIdFromKey, DATASET_REF_KIND, manifestKey, parseRefKey, LOG_PREFIX, REFS_PREFIX, type ManifestStore, RefStore } from "@o3ml/repository";
import { decodeDatasetManifest } from "../datasets/dataset-manifest.js";
import type { Logger } from "../logger.js";

export interface SupersededRef {
  key: string;
  /** The `<kind>/<name>` the ref belongs to. */
  name: string;
  /** "" for a deletion marker. */
  manifestCid: string;
  /** The name's newest ref, a deletion: it must outlive every older ref of the name. */
  marker: boolean;
}

/** How to read a live manifest to find the blobs it names. */
type ManifestKind = "object" | "dataset" | "opaque";

export interface Reachability {
  /** Live manifest CIDs. */
  manifests: Set<string>;
  /** Live blob CIDs: every blob a live manifest names. */
  blobs: Set<string>;
  /**
   * Refs no reader uses any more (older refs of an object), with the manifest
   * each named, and deletion markers that are the newest ref of their name:
   * a marker may go only once every older ref of its name is gone, or an
   * older ref would become the newest and bring the deleted value back.
   */
  superseded: SupersededRef[];
  liveRefs: number;
  logEvents: number;
  /** `<kind>/<name>` of each name whose current ref names a manifest that is missing. */
  broken: string[];
  /** The refs behind `liveRefs`, for accounting by name (see usage/storage-usage.ts). */
  current: LiveRef[];
  /** The blobs each live manifest names (present for every live manifest that could be read). */
  blobsOf: Map<string, string[]>;
}

/** A ref that is a value users see: an object's newest ref, or a dataset version's ref. */
export interface LiveRef {
  key: string;
  kind: string;
  name: string;
  manifestCid: string;
}


/**
 * The mark phase of `o3ml gc`, from the bucket alone (the record of truth):
 *
 * - objects: a name's newest ref is its value; its manifest is live unless
 *   it is a deletion. Older refs are superseded.
 * - datasets: every ref is a version users can still resolve; all are live.
 *   `o3ml dataset rm` removes a version's ref after its deletion event.
 * - the log: artifacts named by events stay live. A commit's event
 *   (`checkpoint.committed`, `dataset.version.created`) keeps nothing alive:
 *   the ref is the commit point (commit-order.ts), so a checkpoint or version
 *   lives while a ref above reaches it, and a commit that stopped between its
 *   event and its ref left nothing to keep.
 *
 * Every blob a live manifest names is live. Anything this code cannot read
 * with certainty (a ref kind it does not know, a manifest of a newer format,
 * an event of a newer format) stops the collection: nothing is deleted on a guess.
 */
export async function markReachable(store: BlobStore, manifests: ManifestStore, log: Logger): Promise<Reachability> {
  const live = new Map<string, ManifestKind>();
  const superseded: Reachability["superseded"] = [];
  const current = new Map<string, string>();
  const currentRefs: LiveRef[] = [];
  let liveRefs = 0;

  for (const [kind, names] of await refsByName(store, log)) {
    const refs = new RefStore(store, kind);
    await mapLimit([...names], 16, async ([name, keys]) => {
      const read = (
        await mapLimit(keys, 4, async (key) => {
          try {
            return { key, ref: await refs.read(key) };
          } catch (err) {
            // Gone since the listing: another collection on the bucket removed it (a superseded
            // ref, or a tombstone with no older ref left) or `o3ml dataset rm` did. Read the name
            // as a listing taken a moment later would have shown it, without that ref; a ref
            // written since is a commit that ran during this collection, which gc's fence and the
            // commit's check of the condemned lists cover (known-blobs.ts).
            if (isO3mlError(err, "NOT_FOUND")) return undefined;
            throw err;
          }
        })
      ).filter((r) => r !== undefined);
      if (read.length === 0) return;
      if (kind === DATASET_REF_KIND) {
        for (const { ref } of read) {
          if (ref.deleted) continue;
          live.set(ref.manifestCid, "dataset");
          current.set(ref.manifestCid, `${kind}/${name}`);
          liveRefs++;
        }
        for (const { key, ref } of read) if (!ref.deleted) currentRefs.push({ key, kind, name, manifestCid: ref.manifestCid });
        return;
      }
      const newest = read[read.length - 1]!;
      if (!newest.ref.deleted) {
        live.set(newest.ref.manifestCid, "object");
        current.set(newest.ref.manifestCid, `${kind}/${name}`);
        currentRefs.push({ key: newest.key, kind, name, manifestCid: newest.ref.manifestCid });
        liveRefs++;
      }
      for (const r of newest.ref.deleted ? read : read.slice(0, -1)) {
        superseded.push({ key: r.key, name: `${kind}/${name}`, manifestCid: r.ref.manifestCid, marker: r === newest });
      }
    });
  }

  const fromLog = await liveFromLog(store, log);

  const blobs = new Set<string>(fromLog.opaque);
  const broken: string[] = [];
  const blobsOf = new Map<string, string[]>();
  await mapLimit([...live], 16, async ([cid, kind]) => {
    try {
      const named = await blobsNamedBy(store, manifests, cid, kind);
      blobsOf.set(cid, named);
      for (const c of named) blobs.add(c);
    } catch (err) {
      if (!isO3mlError(err, "NOT_FOUND")) throw err;
      // A commit recorded in the log whose manifest is gone has nothing left to keep.
      if (current.has(cid)) broken.push(current.get(cid)!);
    }
  });
  for (const c of fromLog.opaque) live.set(c, "opaque");
  return { manifests: new Set(live.keys()), blobs, superseded, liveRefs, logEvents: fromLog.events, broken: broken.sort(), current: currentRefs, blobsOf };
}

/** Every ref key under o3ml/v1/refs/, grouped by kind and name, oldest first. */
async function refsByName(store: BlobStore, log: Logger): Promise<Map<string, Map<string, string[]>>> {
  const out = new Map<string, Map<string, string[]>>();
  for await (const o of store.list(REFS_PREFIX)) {
    const kind = o.key.slice(REFS_PREFIX.length).split("/")[0]!;
    if (kind !== "objects" && kind !== DATASET_REF_KIND) {
      throw new O3mlError(
        "FAILED_PRECONDITION",
        `gc stopped before deleting anything: ${o.key} is a ref of kind ${JSON.stringify(kind)}, which this o3ml does not know, so it cannot tell what it keeps alive; upgrade o3ml`,
        { key: o.key },
      );
    }
    const parsed = parseRefKey(kind, o.key);
    if (!parsed) {
      log.warn({ key: o.key }, "gc ignores a key under o3ml/v1/refs/ that is not a ref");
      continue;
    }
    const names = out.get(kind) ?? out.set(kind, new Map()).get(kind)!;
    (names.get(parsed.name) ?? names.set(parsed.name, []).get(parsed.name)!).push(o.key);
  }
  return out;
}

/** The opaque CIDs (artifacts) the log keeps alive, and how many events it holds. */
async function liveFromLog(store: BlobStore, log: Logger): Promise<{ opaque: Set<string>; events: number }> {
  const keys: string[] = [];
  for await (const o of store.list(LOG_PREFIX)) if (eventIdFromKey(o.key)) keys.push(o.key);
  const opaque = new Set<string>();
  await mapLimit(keys, 16, async (key) => {
    let event;
    try {
      event = decodeEvent(await store.get(key), key);
    } catch (err) {
      // A malformed event names nothing this code could keep; a newer format might.
      if (!isO3mlError(err, "INVALID_ARGUMENT")) throw err;
      log.warn({ key }, `gc skips an unreadable event: ${(err as Error).message}`);
      return;
    }
    // A commit's event keeps nothing alive (commit-order.ts): its ref, once written, does above.
    if (event.type === "artifact.created") opaque.add(event.data.cid);
  });
  return { opaque, events: keys.length };
}

async function blobsNamedBy(store: BlobStore, manifests: ManifestStore, cid: string, kind: ManifestKind): Promise<string[]> {
  if (kind === "object") return (await manifests.read(cid)).chunks.map((c) => c.cid);
  if (kind === "dataset") return decodeDatasetManifest(await store.get(manifestKey(cid)), cid).shards.map((s) => s.cid ?? "");
  return [];
}
