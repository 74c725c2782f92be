import { O3mlError } from "@o3ml/errors";
import type { WireCheckpointInfo, WirePruneRequest, WirePruneResponse } from "@o3ml/client";
import { renderTable } from "../output.js";
import { checkpointJson, type CheckpointJson } from "./checkpoint-json.js";

/** The options of `o3ml ckpt prune`, as commander gives them. */
export interface PruneOptions {
  run: string;
  keepLast?: string;
  keepBest: string[];
  keepEvery?: string;
  keepWithin?: string;
  dryRun: boolean;
}

const bad = (option: string, value: string, what: string) => new O3mlError("INVALID_ARGUMENT", `${option} ${JSON.stringify(value)}: ${what}`);

/** `value` (all of the option, or the part of it named `what`) as a whole number >= 1. */
function wholeNumber(option: string, given: string, value: string, what: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw bad(option, given, `${what} must be a whole number >= 1`);
  return Number(value);
}

/**
 * The request the options make. The syntax of the options is checked here
 * (K:METRIC:min|max, N:step|epoch); whether the rules make sense, and that at
 * least one is given, by the service (checkpoints/retention.ts), for every client alike.
 */
export function pruneRequest(o: PruneOptions): WirePruneRequest {
  const keepBest = o.keepBest.map((text) => {
    const parts = text.split(":");
    if (parts.length < 3) throw bad("--keep-best", text, "give K:METRIC:min|max, e.g. 2:val_loss:min");
    const mode = parts.pop()!;
    const count = wholeNumber("--keep-best", text, parts[0]!, "K");
    const metric = parts.slice(1).join(":");
    if (mode !== "min" && mode !== "max") throw bad("--keep-best", text, `the mode ${JSON.stringify(mode)} is neither min (lower is better) nor max`);
    if (!metric) throw bad("--keep-best", text, "name the metric between the colons, as recorded with each checkpoint (see 'o3ml ckpt show')");
    return { count, metric, mode };
  });
  let keepEvery: WirePruneRequest["keepEvery"];
  if (o.keepEvery !== undefined) {
    const [n, unit, ...rest] = o.keepEvery.split(":");
    if (rest.length > 0 || (unit !== "step" && unit !== "epoch")) throw bad("--keep-every", o.keepEvery, "give N:step or N:epoch, e.g. 5:epoch");
    keepEvery = { every: wholeNumber("--keep-every", o.keepEvery, n!, "N"), unit };
  }
  return {
    run: o.run,
    keepLast: o.keepLast === undefined ? 0 : wholeNumber("--keep-last", o.keepLast, o.keepLast, "N"),
    keepBest,
    keepEvery,
    keepWithin: o.keepWithin ?? "",
    dryRun: o.dryRun,
  };
}

/** What `--json` prints: the run, and each checkpoint that stays (with why) or goes. */
export function pruneJson(r: WirePruneResponse): { run: string; dryRun: boolean; kept: (CheckpointJson & { reasons: string[] })[]; removed: CheckpointJson[] } {
  const all = r.checkpoints ?? [];
  return {
    run: r.run ?? "",
    dryRun: !!r.dryRun,
    kept: all.filter((c) => !c.removed).map((c) => ({ ...checkpointJson(c.info as WireCheckpointInfo), reasons: c.reasons ?? [] })),
    removed: all.filter((c) => c.removed).map((c) => checkpointJson(c.info as WireCheckpointInfo)),
  };
}

export function renderPrune(p: ReturnType<typeof pruneJson>, runName: string): string {
  const row = (action: string, c: CheckpointJson, why: string) => [action, String(c.step), String(c.epoch), c.key, c.id, why];
  const rows = [...p.kept.map((c) => ({ c, r: row("keep", c, c.reasons.join(", ")) })), ...p.removed.map((c) => ({ c, r: row(p.dryRun ? "would remove" : "removed", c, "-") }))];
  rows.sort((a, b) => a.c.created.localeCompare(b.c.created));
  const table = renderTable(["", "step", "epoch", "key", "id", "kept because"], rows.map((x) => x.r));
  const total = p.kept.length + p.removed.length;
  const summary = p.dryRun
    ? `dry run: would remove ${p.removed.length} of ${total} checkpoint(s) of run ${runName}; nothing was deleted`
    : `removed ${p.removed.length} of ${total} checkpoint(s) of run ${runName}; 'o3ml gc' reclaims the data only they named`;
  return `${table}\n${summary}`;
}
