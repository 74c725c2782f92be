import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cidOf } from "@o3ml/integrity";
import { FAULT_KINDS, type FaultKind, type FaultRule } from "@o3ml/standin";
import { CheckpointClient, DatasetClient, type EntryToSave } from "@o3ml/client";
import type { Cluster } from "./cluster.js";
import { clearError } from "./outcome.js";
import { Seeded } from "./seeded.js";

/**
 * Every fault type of the O3-profile layer at several rates of S3 requests,
 * during a dataset epoch (every shard read back from the bucket, bypassing
 * the service's cache) and during checkpoint saves (saved, loaded back,
 * compared byte for byte). Operations run one at a time so the faults each
 * one met are exactly the layer's counter delta. An operation either returns
 * the right bytes (its faults were recovered), or fails with a clear error
 * (the retry budget was spent), or returns wrong bytes: a silent corruption.
 * Client-side checks are independent of the service's: shard bytes are
 * re-hashed to their CID here, checkpoint entries compared with what was sent.
 */
export interface FaultCell {
  kind: FaultKind;
  rate: number;
  workload: "dataset-epoch" | "checkpoint-save";
  operations: number;
  ok: number;
  clearErrors: number;
  unclearErrors: number;
  silentCorruptions: number;
  faultsInjected: number;
  faultsRecovered: number;
  faultsInClearErrors: number;
  seconds: number;
  errors: string[];
}

const RULE_MS: Partial<Record<FaultKind, number>> = { latency: 150, stall: 1500 };

function faultCount(c: Cluster): number {
  return Object.values(c.profile.stats().faults).reduce((a, b) => a + b, 0);
}

/** Pushes the dataset the epochs read: `files` random files in shards of 256 KiB. */
export async function pushFaultDataset(c: Cluster, root: string, seed: number, files: number): Promise<string> {
  const dir = join(root, "fault-dataset");
  mkdirSync(dir, { recursive: true });
  const rnd = new Seeded(seed);
  for (let i = 0; i < files; i++) writeFileSync(join(dir, `sample-${String(i).padStart(3, "0")}.bin`), rnd.bytes(200 * 1024));
  const r = await c.cli(["dataset", "push", dir, "--name", "reliability-faults", "--kind", "files", "--shard-size", "256KiB", "--json"]);
  if (r.code !== 0) throw new Error(`dataset push for the fault matrix failed (${r.code}): ${r.stderr || r.stdout}`);
  return "reliability-faults";
}

export async function runFaultMatrix(
  c: Cluster,
  opts: { seed: number; dataset: string; kinds?: readonly FaultKind[]; rates: number[]; checkpointsPerCell: number; shardsPerEpoch?: number },
): Promise<FaultCell[]> {
  const secrets = c.secrets();
  const datasets = new DatasetClient(c.service.address, c.token);
  const ckpts = new CheckpointClient(c.service.address, c.token);
  const rnd = new Seeded(opts.seed);
  const { manifest } = await datasets.resolve(opts.dataset);
  const shards = (manifest.shards ?? []).slice(0, opts.shardsPerEpoch ?? Infinity).map((s) => ({ cid: String(s.cid), size: Number(s.size) }));
  const cells: FaultCell[] = [];
  const saved: { key: string; entries: EntryToSave[] }[] = [];
  let serial = 0;
  try {
    for (const kind of opts.kinds ?? FAULT_KINDS) {
      for (const rate of opts.rates) {
        for (const workload of ["dataset-epoch", "checkpoint-save"] as const) {
          const rule: FaultRule = { kind, rate, ms: RULE_MS[kind] };
          c.profile.setFaults({ seed: opts.seed + cells.length, rules: [rule] });
          const cell: FaultCell = { kind, rate, workload, operations: 0, ok: 0, clearErrors: 0, unclearErrors: 0, silentCorruptions: 0, faultsInjected: 0, faultsRecovered: 0, faultsInClearErrors: 0, seconds: 0, errors: [] };
          const started = Date.now();
          const op = async (fn: () => Promise<"ok" | "corrupt">) => {
            const before = faultCount(c);
            let outcome: "ok" | "corrupt" | "clear" | "unclear";
            try {
              outcome = await fn();
            } catch (err) {
              const e = clearError(err, secrets);
              outcome = e.clear ? "clear" : "unclear";
              if (cell.errors.length < 3) cell.errors.push(`${e.code}: ${e.message}`);
            }
            const met = faultCount(c) - before;
            cell.operations++;
            cell.faultsInjected += met;
            if (outcome === "ok") (cell.ok++, (cell.faultsRecovered += met));
            else if (outcome === "clear") (cell.clearErrors++, (cell.faultsInClearErrors += met));
            else if (outcome === "unclear") cell.unclearErrors++;
            else cell.silentCorruptions++;
          };
          if (workload === "dataset-epoch") {
            for (const shard of shards) {
              await op(async () => {
                const parts: Buffer[] = [];
                for await (const p of datasets.getBlob(shard.cid, { fromStore: true })) parts.push(Buffer.from(p));
                const bytes = Buffer.concat(parts);
                return bytes.length === shard.size && cidOf(bytes) === shard.cid ? "ok" : "corrupt";
              });
            }
          } else {
            for (let i = 0; i < opts.checkpointsPerCell; i++) {
              const key = `reliability/faults/${kind}-${rate}-${serial++}.ckpt`;
              const entries: EntryToSave[] = [{ name: "skeleton", kind: "skeleton", data: rnd.bytes(2048) }];
              for (let t = 0; t < 4; t++) entries.push({ name: `t${t}`, kind: "storage", dtype: "float32", data: rnd.bytes(rnd.int(32, 96) * 1024) });
              await op(async () => {
                await ckpts.save({ key, run: "reliability-faults", step: serial }, entries);
                saved.push({ key, entries });
                const back = await ckpts.loadAll(key);
                return sameEntries(entries, back.entries) ? "ok" : "corrupt";
              });
            }
          }
          cell.seconds = (Date.now() - started) / 1000;
          cells.push(cell);
        }
      }
    }
  } finally {
    c.profile.setFaults({ rules: [] });
  }
  // Without faults, everything a save acknowledged must read back exactly: nothing corrupt was stored.
  let storedCorrupt = 0;
  for (const s of saved) {
    const back = await ckpts.loadAll(s.key).catch(() => undefined);
    if (!back || !sameEntries(s.entries, back.entries)) storedCorrupt++;
  }
  if (storedCorrupt > 0) {
    cells.push({ kind: "bit-flip", rate: 0, workload: "checkpoint-save", operations: storedCorrupt, ok: 0, clearErrors: 0, unclearErrors: 0, silentCorruptions: storedCorrupt, faultsInjected: 0, faultsRecovered: 0, faultsInClearErrors: 0, seconds: 0, errors: ["acknowledged checkpoints that read back wrong after the faults stopped"] });
  }
  datasets.close();
  ckpts.close();
  return cells;
}

function sameEntries(sent: EntryToSave[], got: { name: string; data: Buffer }[]): boolean {
  if (sent.length !== got.length) return false;
  return sent.every((e, i) => got[i]!.name === e.name && Buffer.compare(Buffer.from(e.data), got[i]!.data) === 0);
}
