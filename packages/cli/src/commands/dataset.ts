import type { Command } from "commander";
import { O3mlError } from "@o3ml/errors";
import { DatasetClient, type WireVersionInfo } from "@o3ml/client";
import { DEFAULT_SEED, parsePushOptions, pushDataset, SOURCE_KINDS, type PushProgress } from "@o3ml/datasets";
import { pullDataset } from "../dataset/pull-dataset.js";
import { shardNames } from "../dataset/shard-names.js";
import { verifyDataset } from "../dataset/verify-dataset.js";
import { emit, fail, formatBytes } from "../output.js";
import { progressFor } from "../progress.js";
import { renderPush, renderVerify, renderVersions } from "./dataset-render.js";
import { clientAction } from "../client-action.js";
import { datasetNames } from "../known-names.js";
import { suggestingNames } from "../name-suggestions.js";

interface JsonOpt {
  json: boolean;
}
interface PushOpts extends JsonOpt {
  name: string;
  version?: string;
  shardSize?: string;
  split?: string;
  seed: string;
  shuffle: boolean;
  kind?: string;
}

/** Runs `fn` with a fresh client; failures become o3ml errors with exit codes. */
const withClient = <A extends unknown[]>(fn: (c: DatasetClient, ...args: A) => Promise<void>) => clientAction((address) => new DatasetClient(address), fn);

/** `call` on the version `spec` names; one that does not exist fails with the nearest that do. */
const onVersion = <T>(c: DatasetClient, spec: string, call: () => Promise<T>) => suggestingNames(spec, async () => datasetNames(await c.list()), call);

const bars = (json: boolean): PushProgress => ({ start: (label, total) => progressFor(label, total, json) });

export function registerDatasetCommands(program: Command): void {
  const dataset = program.command("dataset").description("push, list, inspect, pull, verify and delete versioned datasets stored as WebDataset tar shards");

  dataset
    .command("push <path>")
    .description("push a folder (ImageFolder or any files), an .npy/.npz array or a CSV table as a new version of dataset --name")
    .requiredOption("--name <name>", "dataset name, e.g. mnist or vision/cifar10")
    .option("--version <version>", "version name (default: a sortable id)")
    .option("--shard-size <size>", "target size of a shard (default: an eighth of each split, from 1MiB to 64MiB)")
    .option("--split <ratios>", "assign splits by seeded hash of each key, e.g. train=0.8,val=0.1,test=0.1 (default: train/ val/ test/ folders, if any)")
    .option("--seed <n>", "seed of the shard order and of --split, recorded in the manifest", String(DEFAULT_SEED))
    .option("--no-shuffle", "keep samples in key (folder) order instead of spreading them over the shards by a seeded hash of each key")
    .option("--kind <kind>", `read the input as ${SOURCE_KINDS.join(", ")} (default: detected)`)
    .option("--json", "machine-readable summary", false)
    .action(withClient(async (c, path: string, o: PushOpts) => {
      const options = parsePushOptions({ path, name: o.name, version: o.version, shardSize: o.shardSize, split: o.split, seed: o.seed, shuffle: o.shuffle, kind: o.kind });
      const summary = await pushDataset(c, options, bars(o.json));
      emit(o, summary, () => renderPush(summary));
    }));

  dataset
    .command("ls")
    .description("list datasets and their versions")
    .option("--json", "machine-readable output", false)
    .action(withClient(async (c, o: JsonOpt) => {
      const byName = new Map<string, WireVersionInfo[]>();
      for (const v of await c.list()) byName.set(v.name, [...(byName.get(v.name) ?? []), v]);
      const out = [...byName].map(([name, versions]) => ({ name, latest: versions[versions.length - 1]!.version, versions: versions.map(versionJson) }));
      emit(o, out, () => renderVersions(out));
    }));

  dataset
    .command("show <spec>")
    .description("show a version (name, name@latest or name@version): splits, schema, shards")
    .option("--json", "machine-readable output", false)
    .action(withClient(async (c, spec: string, o: JsonOpt) => {
      const { info, manifest } = await onVersion(c, spec, () => c.resolve(spec));
      const names = shardNames(manifest.shards);
      const splits: Record<string, { samples: number; shards: number; bytes: number }> = {};
      for (const s of manifest.shards) {
        const t = (splits[s.split || "data"] ??= { samples: 0, shards: 0, bytes: 0 });
        t.samples += s.samples.length;
        t.shards++;
        t.bytes += s.size;
      }
      const out = {
        ...versionJson(info),
        splits,
        schema: manifest.schema,
        splitSeed: manifest.splitSeed,
        shuffled: manifest.shuffled,
        shuffleSeed: manifest.shuffleSeed,
        shardList: manifest.shards.map((s, i) => ({ file: names[i], cid: s.cid, split: s.split, samples: s.samples.length, size: s.size })),
      };
      emit(o, out, () =>
        [
          `${info.name}@${info.version}  ${info.cid}`,
          `created ${out.created}  ${info.samples} samples  ${formatBytes(info.bytes)} in ${info.shards} shards${info.parentCid ? `  parent ${info.parentCid}` : ""}`,
          `source ${manifest.schema.sourceKind}  fields ${manifest.schema.fields.join(",")}` +
            (manifest.schema.classes.length ? `  ${manifest.schema.classes.length} classes (${manifest.schema.classes.slice(0, 10).join(", ")}${manifest.schema.classes.length > 10 ? ", …" : ""})` : "") +
            (manifest.schema.columns.length ? `  columns ${manifest.schema.columns.join(",")}` : ""),
          ...Object.entries(splits).map(([k, v]) => `  ${k.padEnd(8)} ${String(v.samples).padStart(9)} samples  ${String(v.shards).padStart(5)} shards  ${formatBytes(v.bytes)}`),
        ].join("\n"),
      );
    }));

  dataset
    .command("pull <spec> <dir>")
    .description("write a version's shards (tar files) and manifest.json into a new folder, verifying every shard")
    .option("--json", "machine-readable summary", false)
    .action(withClient(async (c, spec: string, dir: string, o: JsonOpt) => {
      const summary = await onVersion(c, spec, () => pullDataset(c, spec, dir, bars(o.json)));
      emit(o, summary, () => `${summary.name}@${summary.version} → ${summary.dir}  ${summary.shards} shards, ${formatBytes(summary.bytes)} in ${summary.seconds}s`);
    }));

  dataset
    .command("rm <spec>")
    .description("delete one version (name@version): it is no longer listed or readable; 'o3ml gc' then reclaims the shards no other version names")
    .option("--force", "delete even while checkpoints that are kept were trained on the version", false)
    .option("--json", "machine-readable summary", false)
    .action(withClient(async (c, spec: string, o: JsonOpt & { force: boolean }) => {
      const at = spec.indexOf("@");
      // Deleting is not undone: the version is named, never taken to be the latest.
      if (at === -1) throw new O3mlError("INVALID_ARGUMENT", `name the version to delete: ${spec}@<version> (see 'o3ml dataset show ${spec}')`);
      const info = await onVersion(c, spec, () => c.delete(spec.slice(0, at), spec.slice(at + 1), o.force));
      emit(o, { ...versionJson(info), deleted: true }, () => `deleted ${info.name}@${info.version}  ${info.cid}; 'o3ml gc' reclaims the shards no other version names`);
    }));

  dataset
    .command("verify <spec>")
    .description("re-read every shard of a version from the bucket and re-hash it against its CID and the manifest")
    .option("--json", "machine-readable summary", false)
    .action(withClient(async (c, spec: string, o: JsonOpt) => {
      const summary = await onVersion(c, spec, () => verifyDataset(c, spec, bars(o.json)));
      emit(o, summary, () => renderVerify(summary));
      if (summary.failures.length) {
        const first = summary.failures[0]!;
        // The summary above is the machine-readable result; the error goes to stderr only.
        fail(
          new O3mlError("INTEGRITY", `${summary.name}@${summary.version}: ${summary.failures.length} of ${summary.shards} shards failed verification, first ${first.shard} (cid ${first.cid}): ${first.problem}`),
          false,
        );
      }
    }));
}

function versionJson(v: WireVersionInfo) {
  return { name: v.name, version: v.version, cid: v.cid, parentCid: v.parentCid, samples: v.samples, bytes: v.bytes, shards: v.shards, created: new Date(v.createdUnixMs).toISOString() };
}
