import type { Command } from "commander";
import { O3mlError } from "@o3ml/errors";
import { AdminClient, type WireStorageUsage } from "@o3ml/client";
import { clientAction } from "../client-action.js";
import { emit, formatBytes, renderTable } from "../output.js";

interface DuOpts {
  json: boolean;
  run?: string;
  dataset?: string;
}

export function registerDu(program: Command): void {
  program
    .command("du")
    .description(
      "storage accounting: what the bucket, a run or a dataset holds (logical and stored bytes), " +
        "what dedup shares, the older versions the store keeps, and what 'o3ml gc' would reclaim",
    )
    .option("--run <run>", "only the checkpoints of this run (id or name)")
    .option("--dataset <name[@version]>", "only this dataset (every version, or one)")
    .option("--json", "machine-readable figures, exact byte counts", false)
    .action(clientAction((address) => new AdminClient(address), async (c, o: DuOpts) => {
      if (o.run !== undefined && o.dataset !== undefined) {
        throw new O3mlError("INVALID_ARGUMENT", "du: give --run or --dataset, not both (or neither for the whole bucket)");
      }
      const out = usageJson(await c.storageUsage({ run: o.run, dataset: o.dataset }));
      emit(o, out, () => renderUsage(out));
    }));
}

type Counts = { count: number; bytes: number };
const counts = (c: { count?: number | null; bytes?: number | null } | null | undefined): Counts => ({ count: Number(c?.count ?? 0), bytes: Number(c?.bytes ?? 0) });

function usageJson(r: WireStorageUsage) {
  const whole = r.selection === "bucket";
  return {
    selection: r.selection ?? "",
    items: Number(r.items ?? 0),
    logicalBytes: Number(r.logicalBytes ?? 0),
    stored: { bytes: Number(r.storedBytes ?? 0), blobs: counts(r.blobs), manifests: counts(r.manifests), refs: counts(r.refs) },
    shared: counts(r.shared),
    reclaimable: { bytes: Number(r.reclaimableBytes ?? 0), blobs: counts(r.reclaimableBlobs), manifests: counts(r.reclaimableManifests), refs: counts(r.reclaimableRefs) },
    versions: r.versioned ? { versioned: true, noncurrent: counts(r.noncurrentVersions), deleteMarkers: Number(r.deleteMarkers ?? 0) } : { versioned: false },
    ...(whole ? { log: counts(r.log), other: counts(r.other), totalBytes: Number(r.totalBytes ?? 0) } : {}),
  };
}

function renderUsage(u: ReturnType<typeof usageJson>): string {
  const n = (c: Counts, noun: string) => `${c.count} ${noun}`;
  const whole = u.selection === "bucket";
  const rows: string[][] = [
    ["logical", formatBytes(u.logicalBytes), `the sizes of its ${u.items} objects, checkpoints and dataset versions`],
    [
      "stored",
      formatBytes(u.stored.bytes),
      `${n(u.stored.blobs, "blobs")}, ${n(u.stored.manifests, "manifests")}, ${n(u.stored.refs, "refs")} it reaches, each counted once`,
    ],
    [
      "shared",
      formatBytes(u.shared.bytes),
      whole ? `${n(u.shared, "blobs")} that two or more items name (stored once through dedup)` : `${n(u.shared, "blobs")} that something outside the selection also names (dedup)`,
    ],
    [
      "reclaimable",
      formatBytes(u.reclaimable.bytes),
      `${whole ? "what 'o3ml gc --grace 0' would delete now" : "what its deleted items left, for 'o3ml gc' to delete"}: ` +
        `${n(u.reclaimable.blobs, "blobs")}, ${n(u.reclaimable.manifests, "manifests")}, ${n(u.reclaimable.refs, "refs")}`,
    ],
    u.versions.versioned
      ? ["old versions", formatBytes(u.versions.noncurrent!.bytes), `${n(u.versions.noncurrent!, "older versions")} and ${u.versions.deleteMarkers} delete markers the store keeps`]
      : ["old versions", "-", "not versioned: the store keeps no older versions"],
  ];
  if (whole) {
    rows.push(["log", formatBytes(u.log!.bytes), `${n(u.log!, "events")} of the metadata log`]);
    if (u.other!.count) rows.push(["other", formatBytes(u.other!.bytes), `${n(u.other!, "other keys")} under o3ml/v1/ (checkpoint pins, the gc epoch)`]);
    rows.push(["total", formatBytes(u.totalBytes!), "every current key under o3ml/v1/"]);
  }
  return `${u.selection}\n${renderTable(["", "bytes", "what it is"], rows)}`;
}
