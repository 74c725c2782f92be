import type { Command } from "commander";
import type { CheckpointRecord, RunRecord } from "@o3ml/client";
import { runNames } from "../known-names.js";
import { withMetadataClient } from "../metadata-action.js";
import { suggestingNames } from "../name-suggestions.js";
import { emit, renderTable } from "../output.js";

interface JsonOpt {
  json: boolean;
}

/** `o3ml runs ls`, `o3ml runs show` and `o3ml runs rm`: the training runs the metadata index knows, through the service. */
export function registerRunCommands(program: Command): void {
  const runs = program.command("runs").description("training runs: their hyperparameters, code commit and environment");

  runs
    .command("ls")
    .description("list every registered run, oldest first")
    .option("--json", "machine-readable output (one JSON array)", false)
    .action(withMetadataClient((o: JsonOpt) => o.json, async (c, o: JsonOpt) => {
      const all = await c.listRuns();
      emit(o, all, () => (all.length ? table(all) : "(no runs yet; register one with O3Client.register_run)"));
    }));

  runs
    .command("show <run>")
    .description("show one run (by id, or the newest run with that name) and its checkpoints")
    .option("--json", "machine-readable output", false)
    .action(withMetadataClient((_run: string, o: JsonOpt) => o.json, async (c, run: string, o: JsonOpt) => {
      const record = await suggestingNames(run, async () => runNames(await c.listRuns()), () => c.getRun(run));
      const checkpoints = await c.listCheckpoints(record.id);
      emit(o, { ...record, checkpoints }, () => describe(record, checkpoints));
    }));

  runs
    .command("rm <run>")
    .description("delete a run (by id, or the newest run with that name) and its checkpoints; 'o3ml gc' then reclaims what nothing kept names")
    .option("--force", "delete even while kept checkpoints of other runs were resumed from this run's", false)
    .option("--json", "machine-readable summary", false)
    .action(withMetadataClient((_run: string, o: JsonOpt) => o.json, async (c, run: string, o: JsonOpt & { force: boolean }) => {
      const done = await suggestingNames(run, async () => runNames(await c.listRuns()), () => c.deleteRun(run, o.force));
      emit(o, { ...done.run, deleted: true, checkpointIds: done.checkpointIds }, () => `deleted run ${done.run.name} (${done.run.id}) and ${done.checkpointIds.length} checkpoint(s)`);
    }));
}

function commitOf(r: RunRecord): string {
  if (!r.codeCommit) return "unknown";
  return r.codeCommit.slice(0, 12) + (r.codeDirty ? " (uncommitted changes)" : "");
}

/** Names first, ids last: the name is what a user reads and types. */
function table(all: RunRecord[]): string {
  return renderTable(["NAME", "CREATED", "COMMIT", "HOST", "ID"], all.map((r) => [r.name, r.createdAt, commitOf(r), r.host ?? "-", r.id]));
}

function describe(r: RunRecord, checkpoints: CheckpointRecord[]): string {
  const lines = [
    `run              ${r.name}`,
    `id               ${r.id}`,
    `created          ${r.createdAt}`,
    `code commit      ${r.codeCommit ?? "unknown"}${r.codeDirty ? " (with uncommitted changes)" : r.codeDirty === false ? " (clean)" : ""}`,
    `host             ${r.host ?? "unknown"}`,
    `packages         ${Object.entries(r.packages).map(([name, version]) => `${name} ${version}`).join(", ") || "(none recorded)"}`,
    `hyperparameters  ${Object.keys(r.hyperparameters).length ? "" : "(none)"}`,
    ...Object.entries(r.hyperparameters).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
    `checkpoints      ${checkpoints.length}`,
    ...checkpoints.map((k) => `  step ${k.step}  epoch ${k.epoch}  ${k.state.padEnd(9)}  ${k.id}${k.datasetVersionCid ? `  data ${k.datasetVersionCid}` : ""}`),
  ];
  return lines.map((l) => l.trimEnd()).join("\n");
}
