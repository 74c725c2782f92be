import type { Command } from "commander";
import { CheckpointClient, MetadataClient } from "@o3ml/client";
import { checkpointJson, renderList, renderShow } from "../checkpoint/checkpoint-json.js";
import { isMetricSort, renderSorted, sortCheckpoints } from "../checkpoint/checkpoint-sort.js";
import { exportCheckpoint } from "../checkpoint/export-checkpoint.js";
import { pruneJson, pruneRequest, renderPrune, type PruneOptions } from "../checkpoint/prune-rules.js";
import { clientAction } from "../client-action.js";
import { checkpointRuns, runNames } from "../known-names.js";
import { unknownName } from "../name-suggestions.js";
import { keyPrefix, objectKey } from "../o3-url.js";
import { emit, formatBytes } from "../output.js";
import { progressFor } from "../progress.js";

interface JsonOpt {
  json: boolean;
}

const withCheckpoints = <A extends unknown[]>(fn: (c: CheckpointClient, ...args: A) => Promise<void>) => clientAction((address) => new CheckpointClient(address), fn);

export function registerCheckpointCommands(program: Command): void {
  const ckpt = program
    .command("ckpt")
    .description(
      "checkpoints saved through the CheckpointService: list, show, re-verify, export as a torch file, pin, prune by retention rules. " +
        "<id|key> is a checkpoint id (its manifest CID) or its object key (a key or o3://bucket/key)",
    );

  ckpt
    .command("ls")
    .description("list checkpoints that are not deleted, oldest first (or by --sort)")
    .option("--run <run>", "only this run (id or name)")
    .option("--prefix <prefix>", "only keys under this prefix (or o3://bucket/prefix)")
    .option("--sort <field>", "order by step, epoch, created, or a recorded metric such as val_loss (ascending; checkpoints without it last)")
    .option("--desc", "with --sort: descending, e.g. for an accuracy", false)
    .option("--json", "machine-readable output (one JSON array)", false)
    .action(withCheckpoints(async (c, o: JsonOpt & { run?: string; prefix?: string; sort?: string; desc: boolean }) => {
      const listed = await c.list(o.run ?? "", keyPrefix(o.prefix ?? "", c.address));
      // Runs are listed for their names, and to tell a run without checkpoints from a run that does not exist.
      const meta = new MetadataClient(c.address);
      const runs = await meta.listRuns().finally(() => meta.close());
      if (o.run && listed.length === 0) {
        const known = [...runNames(runs), ...checkpointRuns(await c.list())];
        if (!known.includes(o.run)) throw unknownName("run", o.run, known, "o3ml runs ls");
      }
      const names = new Map(runs.map((r) => [r.id, r.name]));
      const runName = (run: string) => names.get(run) ?? run;
      let all = listed.map(checkpointJson);
      if (o.sort) all = sortCheckpoints(all, o.sort, o.desc);
      const metric = o.sort && isMetricSort(o.sort) ? o.sort : undefined;
      emit(o, all, () => (metric ? renderSorted(all, metric, runName) : renderList(all, runName)));
    }));

  ckpt
    .command("show <id|key>")
    .description("show a checkpoint: run, step, state (committed, durable, deleted), sizes, upload figures, parent and dataset, metrics")
    .option("--json", "machine-readable output", false)
    .action(withCheckpoints(async (c, idOrKey: string, o: JsonOpt) => {
      const info = checkpointJson(await c.stat(objectKey(idOrKey, c.address)));
      emit(o, info, () => renderShow(info));
    }));

  ckpt
    .command("verify <id|key>")
    .description("re-read and re-hash every blob of a checkpoint; fails (exit 5) naming the key and CID of anything altered")
    .option("--json", "machine-readable output", false)
    .action(withCheckpoints(async (c, idOrKey: string, o: JsonOpt) => {
      const res = await c.verify(objectKey(idOrKey, c.address));
      const out = { ...checkpointJson(res.info), verified: true, blobsChecked: Number(res.blobsChecked), bytesChecked: Number(res.bytesChecked) };
      emit(o, out, () => `ok  ${out.key}  ${out.id}: ${out.blobsChecked} blobs, ${formatBytes(out.bytesChecked)} re-read and verified`);
    }));

  ckpt
    .command("export <id|key> <file>")
    .description("write a checkpoint as a plain file that torch.load reads (torch's zip format), atomically")
    .option("--json", "machine-readable summary", false)
    .action(withCheckpoints(async (c, idOrKey: string, file: string, o: JsonOpt) => {
      const info = await exportCheckpoint(c, objectKey(idOrKey, c.address), file, (i, archiveBytes) => progressFor(`export ${i.key}`, archiveBytes, o.json));
      const out = { ...checkpointJson(info), file };
      emit(o, out, () => `${file}  ${formatBytes(out.bytesTotal)}  ${out.key}  ${out.id}`);
    }));

  ckpt
    .command("pin <id|key>")
    .description("pin a checkpoint: every 'o3ml ckpt prune' keeps it until it is unpinned (pins are kept in the bucket)")
    .option("--json", "machine-readable output", false)
    .action(withCheckpoints(async (c, idOrKey: string, o: JsonOpt) => {
      const r = await c.pin(objectKey(idOrKey, c.address));
      const out = { ...checkpointJson(r.info), pinned: r.pinned };
      emit(o, out, () => `pinned  ${out.key}  ${out.id}`);
    }));

  ckpt
    .command("unpin <id|key>")
    .description("unpin a checkpoint: prune rules alone decide whether it stays")
    .option("--json", "machine-readable output", false)
    .action(withCheckpoints(async (c, idOrKey: string, o: JsonOpt) => {
      const r = await c.unpin(objectKey(idOrKey, c.address));
      const out = { ...checkpointJson(r.info), pinned: r.pinned };
      emit(o, out, () => `unpinned  ${out.key}  ${out.id}`);
    }));

  ckpt
    .command("prune")
    .description(
      "delete a run's checkpoints that no rule keeps (as 'o3ml rm' does; 'o3ml gc' then reclaims their data). A checkpoint stays when any rule keeps it; " +
        "the run's newest, pinned checkpoints and those another run resumed from always stay. At least one rule is required",
    )
    .requiredOption("--run <run>", "the run (id or name)")
    .option("--keep-last <N>", "keep the newest N")
    .option("--keep-best <K:METRIC:min|max>", "keep the best K by a recorded metric, e.g. 2:val_loss:min (repeatable)", (v: string, all: string[]) => [...all, v], [])
    .option("--keep-every <N:step|epoch>", "keep the first checkpoint of every span of N steps or epochs, e.g. 5:epoch")
    .option("--keep-within <duration>", "keep what was saved less than this long ago: a whole number and s, m, h or d, e.g. 24h")
    .option("--dry-run", "print what would go and what stays; delete nothing", false)
    .option("--json", "machine-readable output", false)
    .action(withCheckpoints(async (c, o: JsonOpt & PruneOptions) => {
      const out = pruneJson(await c.prune(pruneRequest(o)));
      emit(o, out, () => renderPrune(out, o.run));
    }));
}
