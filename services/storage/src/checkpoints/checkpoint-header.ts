import { O3mlError } from "@o3ml/errors";
import { checkLabels, checkMetricsSize } from "../labels.js";
import { parseCid, type CheckpointFacts, type EntryKind } from "@o3ml/integrity";
import { o3ml } from "@o3ml/proto";
import { validateObjectKey, isPrintable, quoteName } from "@o3ml/repository";

/** What a Save stream's header says, checked. */
export interface SaveHeader extends CheckpointFacts {
  labels: Record<string, string>;
}

/** One entry as announced by its EntryHeader, checked. */
export interface EntryAnnouncement {
  name: string;
  kind: EntryKind;
  dtype: string;
  nbytes: number;
  /** Co-located saves: XXH3-128 of each chunk (16 bytes each). */
  chunkDigests?: Uint8Array[];
  /** Its bytes are not sent: the run's last staged save had it (CheckpointService.Recall). */
  reused?: boolean;
}

/** Storage names become `data/<name>` in an exported torch file: keep them to a path-safe set. */
const STORAGE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,255}$/;

export function checkHeader(h: o3ml.v1.CheckpointHeader.$Properties): SaveHeader {
  const key = validateObjectKey(h.key ?? "");
  const bad = (why: string) => new O3mlError("INVALID_ARGUMENT", `save checkpoint ${key}: ${why}; nothing was stored`, { key });
  const run = h.run ?? "";
  if (run === "" || run.length > 512 || !isPrintable(run)) {
    throw bad("the header names no run (or an unprintable one); set CheckpointHeader.run to the training run's id");
  }
  const step = Number(h.step ?? 0);
  const epoch = Number(h.epoch ?? 0);
  if (!Number.isSafeInteger(step) || step < 0 || !Number.isSafeInteger(epoch) || epoch < 0) {
    throw bad(`step ${step} and epoch ${epoch} must be whole numbers >= 0`);
  }
  checkMetricsSize(h.metrics ?? {}, `save checkpoint ${key}`);
  const metrics: Record<string, number> = {};
  for (const [name, value] of Object.entries(h.metrics ?? {})) {
    if (name === "" || !isPrintable(name) || typeof value !== "number") throw bad(`metric ${quoteName(name)} needs a printable name and a number`);
    metrics[name] = value;
  }
  const cid = (what: string, value: string | null | undefined) => {
    if (!value) return "";
    try {
      return parseCid(value).toString();
    } catch (err) {
      throw bad(`its ${what} ${JSON.stringify(value)} is not a manifest CID (${(err as Error).message})`);
    }
  };
  return {
    key,
    run,
    step,
    epoch,
    metrics,
    datasetCid: cid("dataset_cid", h.datasetCid),
    parentCid: cid("parent_cid", h.parentCid),
    labels: checkLabels(h.labels, `save checkpoint ${key}`),
  };
}

/**
 * Checks the next entry against those before it: the skeleton (at most one)
 * comes first, storages have unique path-safe names, sizes are byte counts.
 */
export function checkEntry(key: string, e: o3ml.v1.EntryHeader.$Properties, before: readonly EntryAnnouncement[]): EntryAnnouncement {
  const index = before.length;
  const bad = (why: string) => new O3mlError("INVALID_ARGUMENT", `save checkpoint ${key}: entry ${index} ${why}; nothing was committed`, { key });
  const kind = e.kind === o3ml.v1.EntryKind.SKELETON ? "skeleton" : e.kind === o3ml.v1.EntryKind.STORAGE ? "storage" : undefined;
  if (!kind) throw bad(`has kind ${e.kind ?? 0}; send SKELETON or STORAGE`);
  const name = e.name ?? "";
  if (kind === "skeleton" && index !== 0) throw bad("is a skeleton, but the skeleton must be the first entry and the only one");
  if (kind === "storage") {
    if (!STORAGE_NAME.test(name)) throw bad(`has storage name ${JSON.stringify(name)}; use 1-256 letters, digits, '_', '.' or '-' (torch uses "0", "1", ...)`);
    if (before.some((b) => b.kind === "storage" && b.name === name)) throw bad(`repeats storage name ${JSON.stringify(name)}`);
  }
  const dtype = e.dtype ?? "";
  if (dtype.length > 64 || !isPrintable(dtype)) throw bad(`has an unprintable or overlong dtype`);
  const nbytes = Number(e.nbytes ?? 0);
  if (!Number.isSafeInteger(nbytes) || nbytes < 0) throw bad(`declares ${nbytes} bytes`);
  const digests = (e.chunkDigests ?? []).map((d) => new Uint8Array(d));
  if (digests.some((d) => d.byteLength !== 16) || digests.length > 1 + nbytes / 1024) throw bad("carries chunk digests that are not 16-byte XXH3-128 digests, one per chunk");
  if (e.reused && digests.length === 0 && nbytes > 0) throw bad("is sent as reused without its chunk digests");
  return { name, kind, dtype, nbytes, ...(digests.length ? { chunkDigests: digests } : {}), ...(e.reused ? { reused: true } : {}) };
}
