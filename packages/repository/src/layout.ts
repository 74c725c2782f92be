import { O3mlError } from "@o3ml/errors";
import { quoteName, unprintableCharacter } from "./printable.js";

/**
 * The bucket layout (docs/architecture.md, Bucket format). Everything o3ml writes lives under ROOT;
 * blobs and manifests are named by CID and never overwritten; refs are named
 * by a sortable id and written last; the newest ref of a name is its value.
 */
export const ROOT = "o3ml/v1/";
export const BLOBS_PREFIX = `${ROOT}blobs/`;
export const MANIFESTS_PREFIX = `${ROOT}manifests/`;
/** Every ref kind's refs are under it (refsRoot). */
export const REFS_PREFIX = `${ROOT}refs/`;
export const blobKey = (cid: string) => `${BLOBS_PREFIX}${cid}`;
export const manifestKey = (cid: string) => `${MANIFESTS_PREFIX}${cid}`;
/** Where the metadata events live (event-writer.ts). */
export const LOG_PREFIX = `${ROOT}log/`;
/** The bucket key of an event: `o3ml/v1/log/<event id>`. Keys sort as the ids do, by time. */
export const eventKey = (eventId: string) => `${LOG_PREFIX}${eventId}`;
/**
 * The gc epoch: rewritten by every collection before it deletes anything, so
 * any service that remembers blobs as "stored" learns that it must check again.
 */
export const GC_EPOCH_KEY = `${ROOT}gc/epoch`;
/** When each unreachable key was first seen unreachable, by the bucket's clock: shared by every gc process (gc/grace-marks.ts). */
export const GC_MARKS_KEY = `${ROOT}gc/marks`;
/** Rewritten to read the bucket's clock off its LastModified (gc/bucket-clock.ts). */
export const GC_CLOCK_KEY = `${ROOT}gc/clock`;
/** One object per collection in progress, listing the keys it is about to delete (gc/condemned.ts). */
export const GC_CONDEMNED_PREFIX = `${ROOT}gc/condemned/`;
export const gcCondemnedKey = (id: string) => `${GC_CONDEMNED_PREFIX}${id}`;

/** Refs of a name sit under `<kind>/<name>/@`: the `@` marks where the name ends. */
export const refPrefix = (kind: string, name: string) => `${REFS_PREFIX}${kind}/${name}/@`;
export const refKey = (kind: string, name: string, id: string) => `${refPrefix(kind, name)}${id}`;
export const refsRoot = (kind: string) => `${REFS_PREFIX}${kind}/`;
/** The ref kind of dataset versions: each version's ref is a value of its own (`<name>/@<version ref id>`). */
export const DATASET_REF_KIND = "datasets";

/** Splits a ref key into its name and sortable id; undefined when it is not a ref of `kind`. */
export function parseRefKey(kind: string, key: string): { name: string; id: string } | undefined {
  const root = refsRoot(kind);
  if (!key.startsWith(root)) return undefined;
  const at = key.lastIndexOf("/@");
  if (at < root.length) return undefined;
  return { name: key.slice(root.length, at), id: key.slice(at + 2) };
}

/**
 * Pins of checkpoints (`o3ml ckpt pin`): `pins/<checkpoint id>/@<sortable id>`, each a Ref
 * naming the checkpoint (pinned) or a deletion (unpinned); the newest is the pin's state.
 * Outside `refs/` on purpose: a pin names a checkpoint to keep from pruning, not a value
 * that keeps data alive, so gc neither reads nor removes them.
 */
export const PINS_ROOT = `${ROOT}pins/`;
export const pinPrefix = (checkpointId: string) => `${PINS_ROOT}${checkpointId}/@`;
export const pinKey = (checkpointId: string, id: string) => `${pinPrefix(checkpointId)}${id}`;

/** The checkpoint id a pin key names; undefined for any other key. */
export function parsePinKey(key: string): string | undefined {
  if (!key.startsWith(PINS_ROOT)) return undefined;
  const at = key.indexOf("/@", PINS_ROOT.length);
  return at > PINS_ROOT.length ? key.slice(PINS_ROOT.length, at) : undefined;
}

const MAX_KEY_BYTES = 900;

/**
 * Object keys are relative paths: non-empty, no leading or trailing slash, no
 * empty, `.` or `..` segments, no NUL or other control characters (C0, DEL,
 * C1, line separators, lone surrogates: see unprintableCharacter), and no
 * segment starting with `@` (reserved to mark where a name ends in ref keys).
 */
export function validateObjectKey(key: unknown): string {
  const bad = (why: string) =>
    new O3mlError("INVALID_ARGUMENT", `invalid object key ${typeof key === "string" ? quoteName(key) : JSON.stringify(key)}: ${why}`, { key: String(key) });
  if (typeof key !== "string" || key.length === 0) throw bad("the key is empty; give a relative path such as 'datasets/train.tar'");
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw bad(`longer than ${MAX_KEY_BYTES} bytes`);
  const unprintable = unprintableCharacter(key);
  if (unprintable) throw bad(`contains ${unprintable}; keys hold no control characters, line separators or lone surrogates`);
  if (key.startsWith("/") || key.endsWith("/")) throw bad("must not start or end with '/'");
  for (const seg of key.split("/")) {
    if (seg === "") throw bad("contains an empty path segment ('//')");
    if (seg === "." || seg === "..") throw bad("contains a '.' or '..' segment; keys are not file-system paths");
    if (seg.startsWith("@")) throw bad("a path segment starts with '@', which is reserved");
  }
  return key;
}

/** A key prefix for listing: empty, or a key-like string that may end with '/'. */
export function validatePrefix(prefix: string): string {
  if (prefix === "") return prefix;
  validateObjectKey(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix);
  return prefix;
}
