import type { Command } from "commander";
import { type WireRebuildResult } from "@o3ml/client";
import { O3mlError } from "@o3ml/errors";
import { withMetadataClient } from "../metadata-action.js";
import { emit, fail } from "../output.js";

interface RebuildOpts {
  json: boolean;
  offline: boolean;
}

type Counts = Record<"events" | "runs" | "datasets" | "datasetVersions" | "checkpoints" | "artifacts" | "edges", number>;

/** What an offline rebuild reports (services/storage/src/metadata/offline-rebuild.ts returns it). */
export interface OfflineRebuildSummary {
  objects: number;
  skipped: number;
  /** Commit and deletion events left out: their ref change is not in the bucket. */
  unlanded: number;
  counts: Counts;
  durationMs: number;
  location: string;
  source: string;
}

/** Rebuilds the index straight from the bucket, warning of each log object it skips. */
export type OfflineRebuild = (warn: (message: string) => void) => Promise<OfflineRebuildSummary>;

/** `o3ml index rebuild`: recreates the metadata index from the bucket's event log, the record of truth. */
export function registerIndexCommands(program: Command, rebuildIndexOffline?: OfflineRebuild): void {
  const index = program.command("index").description("the local metadata index (runs, checkpoints, datasets, lineage)");
  index
    .command("rebuild")
    .description(
      "recreate the metadata index from the event log in the bucket: through the running service (it keeps serving), " +
        "or with --offline straight from O3ML_ENDPOINT when no service runs; malformed log objects are skipped with a warning",
    )
    .option("--offline", "read the bucket directly (O3ML_ENDPOINT and keys) and rebuild the index in O3ML_HOME or O3ML_DATABASE_URL", false)
    .option("--json", "machine-readable output", false)
    .action(async (o: RebuildOpts, cmd: Command) => {
      if (o.offline) {
        // The store client logs its capability probe at info level: noise for a one-shot command.
        process.env.O3ML_LOG_LEVEL ||= "warn";
        try {
          if (!rebuildIndexOffline) {
            throw new O3mlError("FAILED_PRECONDITION", "this o3ml carries no storage service to rebuild the index with: run `o3ml index rebuild` against a running service instead");
          }
          const r = await rebuildIndexOffline(warn);
          emit(o, { ...r, offline: true }, () => summary(r.objects, r.skipped, r.unlanded, r.counts, r.durationMs, r.location, `read from ${r.source}`));
        } catch (err) {
          fail(err, o.json);
        }
        return;
      }
      await withMetadataClient((x: RebuildOpts, _cmd: Command) => x.json, async (c) => {
        const r = await c.rebuildIndex();
        for (const w of r.warnings ?? []) warn(w);
        if (Number(r.warningsOmitted ?? 0) > 0) warn(`${r.warningsOmitted} more objects were skipped; the service's log names each`);
        const out = plain(r);
        emit(o, out, () => summary(out.objects, out.skipped, out.unlanded, out.counts, out.durationMs, out.location, "by the service"));
      })(o, cmd);
    });
}

function warn(message: string): void {
  process.stderr.write(`o3ml: warning: ${message}\n`);
}

function plain(r: WireRebuildResult) {
  const c = r.counts ?? {};
  const counts: Counts = {
    events: Number(c.events ?? 0),
    runs: Number(c.runs ?? 0),
    datasets: Number(c.datasets ?? 0),
    datasetVersions: Number(c.datasetVersions ?? 0),
    checkpoints: Number(c.checkpoints ?? 0),
    artifacts: Number(c.artifacts ?? 0),
    edges: Number(c.edges ?? 0),
  };
  return {
    objects: Number(r.objects ?? 0),
    applied: Number(r.applied ?? 0),
    skipped: Number(r.skipped ?? 0),
    unlanded: Number(r.unlanded ?? 0),
    caughtUp: Number(r.caughtUp ?? 0),
    warnings: r.warnings ?? [],
    warningsOmitted: Number(r.warningsOmitted ?? 0),
    counts,
    durationMs: Number(r.durationMs ?? 0),
    location: r.location ?? "",
    offline: false,
  };
}

function summary(objects: number, skipped: number, unlanded: number, c: Counts, durationMs: number, location: string, how: string): string {
  return [
    `rebuilt the metadata index ${location} ${how}: ${objects} log objects in ${(durationMs / 1000).toFixed(1)} s` +
      (skipped ? `, ${skipped} skipped as malformed (see the warnings above)` : "") +
      (unlanded ? `, ${unlanded} left out as commits stopped before their ref (nothing they wrote is visible; gc reclaims it)` : ""),
    `  ${c.runs} runs, ${c.checkpoints} checkpoints, ${c.datasets} datasets (${c.datasetVersions} versions), ${c.artifacts} artifacts, ${c.edges} lineage edges, ${c.events} events`,
  ].join("\n");
}
