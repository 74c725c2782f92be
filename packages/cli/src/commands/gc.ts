import type { Command } from "commander";
import { O3mlError } from "@o3ml/errors";
import { AdminClient, type WireGcReport } from "@o3ml/client";
import { clientAction } from "../client-action.js";
import { emit, formatBytes } from "../output.js";
import { progressFor, type Progress } from "../progress.js";

interface GcOpts {
  json: boolean;
  dryRun: boolean;
  grace: string;
}

export function registerGc(program: Command): void {
  program
    .command("gc")
    .description(
      "delete the blobs and manifests no ref reaches (every stored version of each) and superseded refs; " +
        "an item is deleted only once it has been unreachable, and unwritten, for the grace period (marks kept in the bucket, timed by its clock), " +
        "so uploads in progress are safe whichever service makes them",
    )
    .option("--dry-run", "report what would be deleted; delete nothing", false)
    .option("--grace <minutes>", "grace period; 0 deletes every unreachable item now (only while nothing else writes to the bucket)", "60")
    .option("--json", "machine-readable report", false)
    .action(clientAction((address) => new AdminClient(address), async (c, o: GcOpts) => {
      const minutes = Number(o.grace);
      if (!Number.isFinite(minutes) || minutes < 0) throw new O3mlError("INVALID_ARGUMENT", `--grace ${o.grace}: give a number of minutes >= 0`);
      let bar: Progress | undefined;
      let shown = 0;
      try {
        const r = await c.collectGarbage({
          dryRun: o.dryRun,
          graceSeconds: Math.round(minutes * 60),
          onProgress: (p) => {
            if (p.phase !== "sweep") return;
            bar ??= progressFor("gc", Number(p.totalBytes), o.json);
            bar.tick(Number(p.doneBytes) - shown);
            shown = Number(p.doneBytes);
          },
        });
        bar?.stop();
        const out = reportJson(r);
        emit(o, out, () => renderReport(out));
      } finally {
        bar?.stop();
      }
    }));
}

type Counts = { count: number; bytes: number };
const counts = (c: { count?: number | null; bytes?: number | null } | null | undefined): Counts => ({ count: Number(c?.count ?? 0), bytes: Number(c?.bytes ?? 0) });

function reportJson(r: WireGcReport) {
  return {
    dryRun: !!r.dryRun,
    graceSeconds: Number(r.graceSeconds ?? 0),
    deleted: { blobs: counts(r.deletedBlobs), manifests: counts(r.deletedManifests), refs: Number(r.deletedRefs ?? 0) },
    pending: { blobs: counts(r.pendingBlobs), manifests: counts(r.pendingManifests) },
    live: { blobs: counts(r.liveBlobs), manifests: counts(r.liveManifests), refs: Number(r.liveRefs ?? 0) },
    brokenNames: r.brokenNames ?? [],
    logEvents: Number(r.logEvents ?? 0),
    durationMs: Number(r.durationMs ?? 0),
  };
}

function renderReport(r: ReturnType<typeof reportJson>): string {
  const c = (x: Counts, noun: string) => `${x.count} ${noun} (${formatBytes(x.bytes)})`;
  const verb = r.dryRun ? "would delete" : "deleted";
  const lines = [
    `${verb} ${c(r.deleted.blobs, "blobs")}, ${c(r.deleted.manifests, "manifests")}, ${r.deleted.refs} superseded refs`,
    `kept ${c(r.live.blobs, "live blobs")}, ${c(r.live.manifests, "live manifests")}, ${r.live.refs} live refs`,
  ];
  if (r.pending.blobs.count + r.pending.manifests.count > 0) {
    lines.push(
      `waiting: ${c(r.pending.blobs, "blobs")} and ${c(r.pending.manifests, "manifests")} are unreachable but not yet for the ${r.graceSeconds / 60}-minute grace period ` +
        "(or an upload in progress holds them); a later 'o3ml gc' deletes them",
    );
  }
  if (r.brokenNames.length) lines.push(`broken: ${r.brokenNames.length} names point to a missing manifest: ${r.brokenNames.slice(0, 5).join(", ")}; see 'o3ml verify'`);
  return lines.join("\n");
}
