import { mapLimit, type BlobStore } from "@o3ml/o3-client";
import { O3mlError, isO3mlError } from "@o3ml/errors";
import { checkpointBytes, decodeObjectManifest, isCid } from "@o3ml/integrity";
import type { MetadataIndex } from "@o3ml/metadata";
import { quoteName, DATASET_REF_KIND, blobKey, manifestKey, ROOT, BLOBS_PREFIX, MANIFESTS_PREFIX, LOG_PREFIX, type ManifestStore } from "@o3ml/repository";
import { decodeDatasetManifest } from "../datasets/dataset-manifest.js";
import { LATEST, parseDatasetSpec, validateDatasetName } from "../datasets/dataset-names.js";
import { markReachable, type LiveRef, type Reachability } from "../gc/reachability.js";
import type { Logger } from "../logger.js";

export interface Counts {
  count: number;
  bytes: number;
}

/** What to account for: a run (id or name), a dataset `name[@version]`, or (neither) the whole bucket. */
export interface UsageSelection {
  run?: string;
  dataset?: string;
}

/** The figures of `o3ml du` (docs/architecture.md, Storage accounting). */
export interface StorageUsage {
  /** "bucket", "run <id>", "run <name> (<id>)" or "dataset <name>[@<version>]". */
  selection: string;
  /** Objects, checkpoints and dataset versions counted. */
  items: number;
  /** The sizes users see: object and checkpoint sizes, dataset version bytes. */
  logicalBytes: number;
  /** Stored under o3ml/v1/ and reached by the selection, each key once. */
  blobs: Counts;
  manifests: Counts;
  refs: Counts;
  storedBytes: number;
  /** Blobs the selection reaches that something outside it reaches too (whole bucket: blobs two or more live items name). */
  shared: Counts;
  /** What `o3ml gc --grace 0` would delete now (a selection: what is left of its deleted items). */
  reclaimable: { blobs: Counts; manifests: Counts; refs: Counts; bytes: number };
  /** Versions the store keeps besides the current ones, and delete markers, of the selection's keys. */
  versions: { versioned: boolean; noncurrent: Counts; deleteMarkers: number };
  /** Whole bucket only (zero for a selection): the event log, anything else under o3ml/v1/, and the sum of every current key there. */
  log: Counts;
  other: Counts;
  totalBytes: number;
}

interface Item {
  ref: LiveRef;
  size: number;
  /** Checkpoints: the run id in their manifest. */
  run?: string;
  /** Dataset versions. */
  version?: string;
}

interface Selected {
  label: string;
  items: Item[];
  manifests: Set<string>;
  blobs: Set<string>;
  refKeys: Set<string>;
  shared: Set<string>;
  dead: { blobs: Set<string>; manifests: Set<string>; refs: Set<string> };
}

/**
 * Accounts for what the bucket stores, from the bucket alone: one listing
 * under o3ml/v1/, the gc mark phase (markReachable: what is live and which
 * blobs each live manifest names) and, on a versioned store, one listing of
 * versions. `onBucket` receives the whole-bucket figures (the Prometheus
 * gauges), which every call computes on the way to a selection's.
 */
export async function storageUsage(
  deps: { store: BlobStore; manifests: ManifestStore; index: MetadataIndex; log: Logger },
  sel: UsageSelection,
  onBucket?: (u: StorageUsage) => void,
): Promise<StorageUsage> {
  if (sel.run && sel.dataset) throw new O3mlError("INVALID_ARGUMENT", "du: give --run or --dataset, not both (or neither for the whole bucket)");
  const sizes = new Map<string, number>();
  for await (const o of deps.store.list(ROOT)) sizes.set(o.key, o.size);
  const reach = await markReachable(deps.store, deps.manifests, deps.log);
  const items = (await mapLimit(reach.current, 16, (ref) => describe(deps, ref))).filter((i): i is Item => i !== undefined);
  const versions = await versionFigures(deps.store);

  const dead = deadKeys(sizes, reach);
  const whole: Selected = {
    label: "bucket",
    items,
    manifests: reach.manifests,
    blobs: reach.blobs,
    refKeys: new Set(reach.current.map((r) => r.key)),
    shared: namedTwice(reach, items),
    dead,
  };
  const bucket = figures(whole, sizes, versions, true);
  onBucket?.(bucket);
  if (!sel.run && !sel.dataset) return bucket;

  const chosen = sel.run ? await runItems(deps.index, items, sel.run) : datasetItems(items, sel.dataset!);
  const manifests = new Set(chosen.items.map((i) => i.ref.manifestCid));
  const blobs = new Set(chosen.items.flatMap((i) => reach.blobsOf.get(i.ref.manifestCid) ?? []));
  // Outside: every other item (which may share a manifest with a chosen one). Refs reach every
  // live manifest (commit-order.ts: an event alone keeps nothing alive), so items cover them all.
  const chosenRefs = new Set(chosen.items.map((i) => i.ref.key));
  const outside = new Set<string>();
  for (const i of items) if (!chosenRefs.has(i.ref.key)) for (const b of reach.blobsOf.get(i.ref.manifestCid) ?? []) outside.add(b);
  const deadOfSelection = await deadOf(deps, reach, dead, chosen.matches);
  const selected: Selected = {
    label: chosen.label,
    items: chosen.items,
    manifests,
    blobs,
    refKeys: chosenRefs,
    shared: new Set([...blobs].filter((b) => outside.has(b))),
    dead: deadOfSelection,
  };
  return figures(selected, sizes, versions, false);
}

/** The size a user sees of one live ref's value; undefined when its manifest is gone (gc reports it as broken). */
async function describe(deps: { store: BlobStore; manifests: ManifestStore }, ref: LiveRef): Promise<Item | undefined> {
  try {
    if (ref.kind === DATASET_REF_KIND) {
      const m = decodeDatasetManifest(await deps.store.get(manifestKey(ref.manifestCid)), ref.manifestCid);
      return { ref, size: Number(m.bytes), version: m.version };
    }
    const m = await deps.manifests.read(ref.manifestCid);
    const size = m.checkpoint ? checkpointBytes(m.checkpoint) : m.size;
    return { ref, size, run: m.checkpoint?.run };
  } catch (err) {
    if (isO3mlError(err, "NOT_FOUND")) return undefined;
    throw err;
  }
}

/** What a deleted item left behind is matched by its manifest: a checkpoint's run, or a dataset version's name and version. */
type Matches = (m: { run?: string; dataset?: { name: string; version: string } }) => boolean;

async function runItems(index: MetadataIndex, items: Item[], run: string): Promise<{ label: string; items: Item[]; matches: Matches }> {
  const ids = new Set([run]);
  try {
    ids.add((await index.getRun(run)).id);
  } catch (err) {
    // Checkpoints name their run by id even when the index has no record of it.
    if (!isO3mlError(err, "NOT_FOUND")) throw err;
  }
  const chosen = items.filter((i) => i.run !== undefined && ids.has(i.run));
  if (chosen.length === 0 && ids.size === 1) {
    const known = [...new Set(items.flatMap((i) => (i.run ? [i.run] : [])))].sort();
    throw new O3mlError(
      "NOT_FOUND",
      `du: no run ${quoteName(run)} and no stored checkpoint names it; runs with stored checkpoints: ${known.slice(0, 10).join(", ") || "none"} (see 'o3ml runs ls')`,
      { run },
    );
  }
  const id = [...ids].find((i) => i !== run);
  return { label: id ? `run ${run} (${id})` : `run ${run}`, items: chosen, matches: (m) => m.run !== undefined && ids.has(m.run) };
}

function datasetItems(items: Item[], spec: string): { label: string; items: Item[]; matches: Matches } {
  const at = spec.indexOf("@");
  const { name, version } = at === -1 ? { name: validateDatasetName(spec), version: "" } : parseDatasetSpec(spec);
  const ofName = items.filter((i) => i.ref.kind === DATASET_REF_KIND && i.ref.name === name);
  if (ofName.length === 0) {
    const known = [...new Set(items.filter((i) => i.ref.kind === DATASET_REF_KIND).map((i) => i.ref.name))].sort();
    throw new O3mlError("NOT_FOUND", `du: no dataset ${quoteName(name)}; datasets: ${known.slice(0, 10).join(", ") || "none"} (see 'o3ml dataset ls')`, { name });
  }
  // Refs are listed oldest first, so the last one of the name is its latest version.
  const wanted = version === LATEST ? ofName[ofName.length - 1]!.version! : version;
  const chosen = wanted ? ofName.filter((i) => i.version === wanted) : ofName;
  if (chosen.length === 0) {
    throw new O3mlError("NOT_FOUND", `du: dataset ${quoteName(name)} has no version ${quoteName(wanted)}; it has ${ofName.map((i) => i.version).join(", ")}`, { name, version: wanted });
  }
  const label = `dataset ${name}${wanted ? `@${wanted}` : ""}`;
  return { label, items: chosen, matches: (m) => m.dataset?.name === name && (!wanted || m.dataset.version === wanted) };
}

/** What gc would delete now: unreachable blobs and manifests (those named by a CID, as gc lists them) and superseded refs. */
function deadKeys(sizes: Map<string, number>, reach: Reachability): Selected["dead"] {
  const under = (prefix: string, live: Set<string>) =>
    new Set([...sizes.keys()].filter((k) => k.startsWith(prefix) && isCid(k.slice(prefix.length)) && !live.has(k.slice(prefix.length))).map((k) => k.slice(prefix.length)));
  return { blobs: under(BLOBS_PREFIX, reach.blobs), manifests: under(MANIFESTS_PREFIX, reach.manifests), refs: new Set(reach.superseded.map((r) => r.key)) };
}

/**
 * The part of what gc would delete that deleted items of the selection left:
 * unreachable manifests whose content matches (a checkpoint of the run, a
 * version of the dataset), the unreachable blobs they name, and superseded
 * refs naming them or, for a deletion marker, the key of one of them.
 */
async function deadOf(deps: { store: BlobStore }, reach: Reachability, dead: Selected["dead"], matches: Matches): Promise<Selected["dead"]> {
  const out: Selected["dead"] = { blobs: new Set(), manifests: new Set(), refs: new Set() };
  const keys = new Set<string>();
  await mapLimit([...dead.manifests], 16, async (cid) => {
    const read = await readEither(deps.store, cid);
    if (!read || !matches(read)) return;
    out.manifests.add(cid);
    if (read.key) keys.add(`objects/${read.key}`);
    for (const b of read.blobs) if (dead.blobs.has(b)) out.blobs.add(b);
  });
  for (const r of reach.superseded) if (out.manifests.has(r.manifestCid) || (r.marker && keys.has(r.name))) out.refs.add(r.key);
  return out;
}

/** An unreachable manifest read as a checkpoint or as a dataset version; undefined for anything else (or one gone meanwhile). */
async function readEither(store: BlobStore, cid: string): Promise<{ run?: string; key?: string; dataset?: { name: string; version: string }; blobs: string[] } | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(manifestKey(cid));
  } catch (err) {
    if (isO3mlError(err, "NOT_FOUND")) return undefined;
    throw err;
  }
  try {
    const m = decodeObjectManifest(bytes, cid);
    if (m.checkpoint) return { run: m.checkpoint.run, key: m.checkpoint.key, blobs: m.chunks.map((c) => c.cid) };
  } catch {
    // Not an object manifest: it may be a dataset version's.
  }
  // A selection matches a dataset manifest by its exact name, so a manifest of another kind that
  // happened to decode as one would still not be counted.
  try {
    const d = decodeDatasetManifest(bytes, cid);
    return { dataset: { name: d.name, version: d.version }, blobs: d.shards.map((s) => s.cid ?? "") };
  } catch {
    return undefined;
  }
}

/**
 * Blobs that two or more live items name: what dedup stores once for several
 * of them. An item is a live ref's value (two names with equal content share
 * one manifest, and so every blob of it).
 */
function namedTwice(reach: Reachability, items: Item[]): Set<string> {
  const lists = items.map((i) => reach.blobsOf.get(i.ref.manifestCid) ?? []);
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const list of lists) for (const b of new Set(list)) (seen.has(b) ? twice : seen).add(b);
  return twice;
}

interface VersionFigures {
  versioned: boolean;
  noncurrent: Map<string, Counts>;
  markers: Map<string, number>;
}

async function versionFigures(store: BlobStore): Promise<VersionFigures> {
  const out: VersionFigures = { versioned: false, noncurrent: new Map(), markers: new Map() };
  // An unversioned store lists each key once, as version "null": there is nothing old to count.
  if (!(await store.capabilities()).versioning) return out;
  out.versioned = true;
  for await (const v of store.listVersions(ROOT)) {
    if (v.deleteMarker) out.markers.set(v.key, (out.markers.get(v.key) ?? 0) + 1);
    else if (!v.isLatest) {
      const c = out.noncurrent.get(v.key) ?? { count: 0, bytes: 0 };
      out.noncurrent.set(v.key, { count: c.count + 1, bytes: c.bytes + v.size });
    }
  }
  return out;
}

function figures(s: Selected, sizes: Map<string, number>, versions: VersionFigures, whole: boolean): StorageUsage {
  // Keys the store no longer lists (a manifest gc removed meanwhile, a broken name's) count for nothing.
  const keysOf = (ids: Iterable<string>, key: (id: string) => string = (k) => k) => [...ids].map(key).filter((k) => sizes.has(k));
  const count = (keys: string[]): Counts => ({ count: keys.length, bytes: keys.reduce((n, k) => n + sizes.get(k)!, 0) });
  const live = { blobs: keysOf(s.blobs, blobKey), manifests: keysOf(s.manifests, manifestKey), refs: keysOf(s.refKeys) };
  const left = { blobs: keysOf(s.dead.blobs, blobKey), manifests: keysOf(s.dead.manifests, manifestKey), refs: keysOf(s.dead.refs) };
  const blobs = count(live.blobs);
  const manifests = count(live.manifests);
  const refs = count(live.refs);
  const dead = { blobs: count(left.blobs), manifests: count(left.manifests), refs: count(left.refs) };
  const counted = new Set([...Object.values(live), ...Object.values(left)].flat());

  // A selection's versions are those of the keys it reaches or left behind; the whole bucket's, of every key under o3ml/v1/.
  const noncurrent: Counts = { count: 0, bytes: 0 };
  let deleteMarkers = 0;
  for (const [k, c] of versions.noncurrent) if (whole || counted.has(k)) (noncurrent.count += c.count), (noncurrent.bytes += c.bytes);
  for (const [k, n] of versions.markers) if (whole || counted.has(k)) deleteMarkers += n;

  const none: Counts = { count: 0, bytes: 0 };
  return {
    selection: s.label,
    items: s.items.length,
    logicalBytes: s.items.reduce((n, i) => n + i.size, 0),
    blobs,
    manifests,
    refs,
    storedBytes: blobs.bytes + manifests.bytes + refs.bytes,
    shared: count(keysOf(s.shared, blobKey)),
    reclaimable: { ...dead, bytes: dead.blobs.bytes + dead.manifests.bytes + dead.refs.bytes },
    versions: { versioned: versions.versioned, noncurrent, deleteMarkers },
    log: whole ? count([...sizes.keys()].filter((k) => k.startsWith(LOG_PREFIX))) : none,
    other: whole ? count([...sizes.keys()].filter((k) => !k.startsWith(LOG_PREFIX) && !counted.has(k))) : none,
    totalBytes: whole ? [...sizes.values()].reduce((n, b) => n + b, 0) : 0,
  };
}
