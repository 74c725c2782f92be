import { createHash } from "node:crypto";
import type { Command } from "commander";
import { O3mlError } from "@o3ml/errors";
import { CheckpointClient, DatasetClient, ServiceClient } from "@o3ml/client";
import { clientAction } from "../client-action.js";
import { verifyDataset } from "../dataset/verify-dataset.js";
import { emit, formatBytes } from "../output.js";
import { itemProgressFor, type ItemProgress } from "../progress.js";

interface VerifyOpts {
  json: boolean;
  checkpoints: boolean;
  datasets: boolean;
  objects: boolean;
}

export interface Finding {
  kind: "checkpoint" | "dataset" | "object";
  name: string;
  problem: string;
}

export interface VerifyReport {
  ok: boolean;
  checkpoints: number;
  datasetVersions: number;
  objects: number;
  bytesChecked: number;
  failures: Finding[];
  seconds: number;
}

/** The three clients `o3ml verify` needs, closed together. */
class Clients {
  readonly objects: ServiceClient;
  readonly checkpoints: CheckpointClient;
  readonly datasets: DatasetClient;
  constructor(address: string) {
    this.objects = new ServiceClient(address);
    this.checkpoints = new CheckpointClient(address);
    this.datasets = new DatasetClient(address);
  }
  close(): void {
    this.objects.close();
    this.checkpoints.close();
    this.datasets.close();
  }
}

/**
 * `o3ml verify`: restic's `check --read-data` for a whole bucket. Every
 * checkpoint, dataset version and object is re-read from the store and
 * re-hashed; every problem is listed (one bad item does not stop the run) and
 * the exit code is 5 (INTEGRITY) when there is any.
 */
export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description("re-read and re-hash everything in the bucket: every checkpoint, dataset version and object; lists every problem and exits 5 when there is any")
    .option("--no-checkpoints", "skip checkpoints")
    .option("--no-datasets", "skip dataset versions")
    .option("--no-objects", "skip plain objects")
    .option("--json", "machine-readable report", false)
    .action(clientAction((address) => new Clients(address), async (c, o: VerifyOpts) => {
      const report = await verifyAll(c, o);
      emit(o, report, () => render(report));
      if (!report.ok) {
        // The report (human or JSON) already lists every problem; only the exit code is left to set.
        process.stderr.write(`o3ml: INTEGRITY: ${report.failures.length} item(s) failed verification; restore them from a good copy, or delete them and run o3ml gc\n`);
        process.exitCode = 5;
      }
    }));
}

async function verifyAll(c: Clients, o: VerifyOpts): Promise<VerifyReport> {
  const started = performance.now();
  const failures: Finding[] = [];
  let bytesChecked = 0;
  // Only damage is a finding; anything else (service down, bad token) stops the run.
  const damage = (err: unknown): string => {
    const e = O3mlError.from(err);
    if (e.code !== "INTEGRITY" && e.code !== "NOT_FOUND") throw e;
    return e.message;
  };

  // Everything is listed first, so that the progress shown counts towards a known total.
  const checkpoints = o.checkpoints ? await c.checkpoints.list() : [];
  const versions = o.datasets ? await c.datasets.list() : [];
  // A checkpoint is also listed as an object under its key; it is checked as a checkpoint.
  const asCheckpoints = new Set(checkpoints.map((ckpt) => ckpt.key));
  const keys: string[] = [];
  if (o.objects) for await (const info of c.objects.listAll("")) if (!asCheckpoints.has(info.key ?? "")) keys.push(info.key ?? "");
  const bar = itemProgressFor("verify", checkpoints.length + versions.length + keys.length, o.json);
  try {
    for (const ckpt of checkpoints) {
      bar.next(`checkpoint ${ckpt.key}`);
      try {
        const checked = Number((await c.checkpoints.verify(ckpt.cid ?? "")).bytesChecked);
        bytesChecked += checked;
        bar.tick(checked);
      } catch (err) {
        failures.push({ kind: "checkpoint", name: `${ckpt.key} (${ckpt.cid})`, problem: damage(err) });
      }
    }

    for (const v of versions) {
      const spec = `${v.name}@${v.version}`;
      bar.next(`dataset ${spec}`);
      try {
        const r = await verifyDataset(c.datasets, spec, { start: () => ({ tick: (n) => bar.tick(n), stop() {} }) });
        bytesChecked += r.bytes;
        for (const f of r.failures) failures.push({ kind: "dataset", name: `${spec} ${f.shard}`, problem: f.problem });
      } catch (err) {
        failures.push({ kind: "dataset", name: spec, problem: damage(err) });
      }
    }

    for (const key of keys) {
      bar.next(`object ${key}`);
      try {
        bytesChecked += await verifyObject(c.objects, key, bar);
      } catch (err) {
        failures.push({ kind: "object", name: key, problem: damage(err) });
      }
    }
  } finally {
    bar.stop();
  }

  return {
    ok: failures.length === 0,
    checkpoints: checkpoints.length,
    datasetVersions: versions.length,
    objects: keys.length,
    bytesChecked,
    failures,
    seconds: Math.round((performance.now() - started) / 10) / 100,
  };
}

/** Streams an object (the service checks each blob's CID) and checks its size and whole-object sha2-256. */
async function verifyObject(client: ServiceClient, key: string, bar: ItemProgress): Promise<number> {
  const { info, data } = await client.get(key, 0, 0, { fromStore: true });
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of data) {
    hash.update(chunk);
    size += chunk.byteLength;
    bar.tick(chunk.byteLength);
  }
  const digest = hash.digest("hex");
  if (size !== Number(info.size) || (info.sha256 && digest !== info.sha256)) {
    throw new O3mlError("INTEGRITY", `${key}: read ${size} bytes with sha2-256 ${digest}, the manifest records ${info.size} bytes with ${info.sha256}`, { key });
  }
  return size;
}

function render(r: VerifyReport): string {
  const lines = r.failures.map((f) => `FAIL  ${f.kind} ${f.name}: ${f.problem}`);
  lines.push(
    `${r.ok ? "ok" : "FAILED"}  ${r.checkpoints} checkpoints, ${r.datasetVersions} dataset versions, ${r.objects} objects; ` +
      `${formatBytes(r.bytesChecked)} re-read and verified in ${r.seconds} s` + (r.ok ? "" : `; ${r.failures.length} problem(s)`),
  );
  return lines.join("\n");
}
