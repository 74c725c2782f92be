import { newEventId, newEvent, type EventInput, type EventType, type MetadataEvent } from "@o3ml/repository";
import type { MetadataIndex } from "./metadata-index.js";

/**
 * Event histories for the tests, shaped like real training: dataset versions
 * derived from one another, runs whose checkpoints chain through parents and
 * cross runs on resume, durable and deleted states, artifacts, an explicit
 * edge, and names full of characters that renderers must escape.
 */

const START = Date.parse("2025-03-01T12:00:00.000Z");

function clock(start = START) {
  let t = start;
  return () => new Date((t += 1000));
}

export function cid(tag: string): string {
  return `bafybei${tag.toLowerCase().replace(/[^a-z2-7]/g, "a").padEnd(52, "q")}`;
}

export const HOSTILE_RUN_NAME = 'mnist "baseline" #1 <lr=0.1> [a|b] {x} (y) `z` & \\ ;';
export const HOSTILE_DATASET = 'cifar "10" <b>#1</b>';

/** A small history touching every event type; ids are fresh on every call. */
export function sampleHistory(): MetadataEvent[] {
  const at = clock();
  const ev = <T extends EventType>(type: T, data: EventInput<T>) => newEvent(type, data, { at: at() });
  const v1 = newEventId(START - 5000);
  const v2 = newEventId(START - 4000);
  const cv1 = newEventId(START - 3000);
  const [r1, r2] = [newEventId(START - 2000), newEventId(START - 1000)];
  const [c1, c2, c3, c4] = ["c1", "c2", "c3", "c4"].map((_, i) => newEventId(START + i));
  return [
    ev("dataset.version.created", { dataset: "mnist", version: v1, manifestCid: cid("d1"), samples: 60000, bytes: 47_040_016 }),
    ev("dataset.version.created", {
      dataset: "mnist",
      version: v2,
      manifestCid: cid("d2"),
      parentVersion: v1,
      parentManifestCid: cid("d1"),
      samples: 70000,
      bytes: 54_880_016,
    }),
    ev("dataset.version.created", { dataset: HOSTILE_DATASET, version: cv1, manifestCid: cid("d3"), samples: 10, bytes: 3072 }),
    ev("run.created", {
      runId: r1,
      name: HOSTILE_RUN_NAME,
      hyperparameters: { lr: 0.1, layers: [64, 32], optimizer: { name: "adam", betas: [0.9, 0.999] }, note: null, deterministic: true },
      codeCommit: "4f2a9c1e0b7d",
      codeDirty: true,
      packages: { torch: "2.13.0", lightning: "2.5.0", o3ml: "0.1.0" },
      host: "trainer-1",
    }),
    ev("checkpoint.committed", {
      checkpointId: c1!,
      runId: r1,
      step: 100,
      epoch: 0,
      metrics: { loss: 0.5, acc: 0.81 },
      manifestCid: cid("m1"),
      datasetVersionCid: cid("d2"),
      bytesTotal: 50_000_000_000,
      bytesUploaded: 30_000_000_000,
      bytesDeduplicated: 20_000_000_000,
    }),
    ev("checkpoint.durable", { checkpointId: c1!, networkRootCid: cid("n1") }),
    ev("checkpoint.committed", {
      checkpointId: c2!,
      runId: r1,
      step: 200,
      epoch: 1,
      metrics: { loss: NaN, acc: -Infinity },
      manifestCid: cid("m2"),
      parentCheckpointId: c1!,
      datasetVersionCid: cid("d2"),
      bytesTotal: 1000,
      bytesUploaded: 10,
      bytesDeduplicated: 990,
    }),
    ev("checkpoint.committed", {
      checkpointId: c3!,
      runId: r1,
      step: 300,
      epoch: 2,
      metrics: {},
      manifestCid: cid("m3"),
      parentCheckpointId: c2!,
      datasetVersionCid: cid("d2"),
      bytesTotal: 1000,
      bytesUploaded: 0,
      bytesDeduplicated: 1000,
    }),
    ev("checkpoint.deleted", { checkpointId: c2! }),
    ev("artifact.created", { artifactId: newEventId(START + 10), runId: r1, name: "model.onnx", cid: cid("a1"), bytes: 1234, mediaType: "application/onnx", checkpointId: c3! }),
    ev("run.created", { runId: r2, name: "mnist-resume", hyperparameters: {}, packages: {} }),
    ev("checkpoint.committed", {
      checkpointId: c4!,
      runId: r2,
      step: 400,
      epoch: 3,
      metrics: { loss: 0.2 },
      manifestCid: cid("m4"),
      parentCheckpointId: c3!,
      datasetVersionCid: cid("d2"),
      bytesTotal: 2000,
      bytesUploaded: 1000,
      bytesDeduplicated: 1000,
    }),
    ev("lineage.linked", { from: { kind: "dataset-version", id: cid("d3") }, to: { kind: "run", id: r2 }, relation: "evaluated-on" }),
    ev("checkpoint.durable", { checkpointId: c4!, networkRootCid: null }),
  ];
}

/** A longer history: `runs` runs of `perRun` chained checkpoints each, half of them made durable. */
export function bulkHistory(runs: number, perRun: number, start = START + 10_000_000): MetadataEvent[] {
  const at = clock(start);
  const out: MetadataEvent[] = [];
  const data = newEventId(start);
  out.push(newEvent("dataset.version.created", { dataset: "bulk", version: data, manifestCid: cid(`bulk${data}`), samples: 1, bytes: 1 }, { at: at() }));
  for (let r = 0; r < runs; r++) {
    const runId = newEventId(start + r);
    out.push(newEvent("run.created", { runId, name: `bulk-${r}`, hyperparameters: { r }, packages: {} }, { at: at() }));
    let parent: string | null = null;
    for (let s = 0; s < perRun; s++) {
      const checkpointId = newEventId(start + 1000 * r + s);
      out.push(
        newEvent(
          "checkpoint.committed",
          {
            checkpointId,
            runId,
            step: s * 10,
            epoch: s,
            metrics: { loss: 1 / (s + 1) },
            manifestCid: cid(`m${checkpointId}`),
            parentCheckpointId: parent,
            datasetVersionCid: cid(`bulk${data}`),
            bytesTotal: 100,
            bytesUploaded: 50,
            bytesDeduplicated: 50,
          },
          { at: at() },
        ),
      );
      if (s % 2 === 0) out.push(newEvent("checkpoint.durable", { checkpointId, networkRootCid: cid(`n${checkpointId}`) }, { at: at() }));
      parent = checkpointId;
    }
  }
  return out;
}

/** Everything the index answers, for comparing two indexes (or one before and after). */
export async function snapshot(index: MetadataIndex) {
  const datasets = await index.listDatasets();
  const versions = await Promise.all(datasets.map((d) => index.listDatasetVersions(d.name)));
  const checkpoints = await index.listCheckpoints();
  const runs = await index.listRuns();
  const lineage = [];
  for (const id of [...runs.map((r) => r.id), ...checkpoints.map((c) => c.id)]) lineage.push(await index.lineage(id));
  return { runs, datasets, versions, checkpoints, artifacts: await index.listArtifacts(), counts: await index.counts(), lineage };
}

/** A Fisher–Yates shuffle driven by a seed, so a failing order can be replayed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
