import { O3mlError } from "@o3ml/errors";

/** What `o3ml ckpt prune` keeps; a checkpoint is kept when any rule keeps it. */
export interface RetentionRules {
  /** The newest N (0: no such rule). */
  keepLast: number;
  /** The best `count` by a metric recorded with each checkpoint; those without it are not ranked. */
  keepBest: { count: number; metric: string; mode: "min" | "max" }[];
  /** The first checkpoint of each span of `every` steps (or epochs): 0..every-1, every..2·every-1, … */
  keepEvery?: { every: number; unit: "step" | "epoch" };
  /** Anything committed less than this long ago, as given (e.g. "24h"). */
  keepWithin?: string;
}

/** What the rules look at: the fields of CheckpointInfo they read. */
export interface Candidate {
  cid: string;
  step: number;
  epoch: number;
  metrics: Record<string, number>;
  createdUnixMs: number;
}

/** What the rules cannot see, and protects regardless of them. */
export interface Protections {
  pinned: ReadonlySet<string>;
  /** Checkpoint id → the runs with a kept checkpoint resumed from it. */
  resumedBy: ReadonlyMap<string, string[]>;
  nowMs: number;
}

const DURATION_UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "90s", "30m", "24h", "7d": a whole number and one unit. */
export function parseDuration(text: string): number {
  const m = /^(\d+)([smhd])$/.exec(text.trim());
  if (!m) throw new O3mlError("INVALID_ARGUMENT", `keep within ${JSON.stringify(text)}: give a whole number and a unit among s, m, h, d, e.g. 24h or 7d`);
  return Number(m[1]) * DURATION_UNIT_MS[m[2] as keyof typeof DURATION_UNIT_MS];
}

/** Refuses rules that keep nothing on purpose, or that cannot be applied, saying which and what to give. */
export function checkRules(r: RetentionRules): void {
  const bad = (why: string) => new O3mlError("INVALID_ARGUMENT", `prune: ${why}`);
  const given = r.keepLast > 0 || r.keepBest.length > 0 || r.keepEvery !== undefined || r.keepWithin !== undefined;
  if (!given) {
    throw bad(
      "no retention rule given, so everything but the newest checkpoint would go; give at least one of --keep-last N, " +
        "--keep-best K:METRIC:min|max, --keep-every N:step|epoch, --keep-within DURATION (to keep only the newest, say so: --keep-last 1)",
    );
  }
  if (!Number.isSafeInteger(r.keepLast) || r.keepLast < 0) throw bad(`keep last ${r.keepLast}: give a whole number >= 1`);
  for (const b of r.keepBest) {
    if (!Number.isSafeInteger(b.count) || b.count < 1) throw bad(`keep best ${b.count} by ${b.metric}: give a whole number of checkpoints >= 1`);
    if (!b.metric) throw bad(`keep best ${b.count}: name the metric, as recorded with each checkpoint (see 'o3ml ckpt show')`);
    if (b.mode !== "min" && b.mode !== "max") throw bad(`keep best ${b.count} by ${b.metric}: mode ${JSON.stringify(b.mode)} is neither min (lower is better) nor max`);
  }
  if (r.keepEvery) {
    if (!Number.isSafeInteger(r.keepEvery.every) || r.keepEvery.every < 1) throw bad(`keep every ${r.keepEvery.every}: give a whole number >= 1`);
    if (r.keepEvery.unit !== "step" && r.keepEvery.unit !== "epoch") throw bad(`keep every ${r.keepEvery.every}: unit ${JSON.stringify(r.keepEvery.unit)} is neither step nor epoch`);
  }
  if (r.keepWithin !== undefined) parseDuration(r.keepWithin);
}

/**
 * Why each checkpoint of one run stays (checkpoints in commit order, oldest
 * first): a checkpoint with no reason goes. The newest always stays: it is
 * where the run resumes from.
 */
export function reasonsToKeep(checkpoints: Candidate[], r: RetentionRules, p: Protections): Map<string, string[]> {
  const reasons = new Map<string, string[]>(checkpoints.map((c) => [c.cid, []]));
  const keep = (c: Candidate, why: string) => reasons.get(c.cid)!.push(why);
  const newest = checkpoints[checkpoints.length - 1];
  if (newest) keep(newest, "newest");
  if (r.keepLast > 0) for (const c of checkpoints.slice(-r.keepLast)) keep(c, `last ${r.keepLast}`);
  for (const b of r.keepBest) {
    const ranked = checkpoints.filter((c) => Number.isFinite(c.metrics[b.metric]));
    // A stable sort: of equal values the earlier checkpoint ranks first.
    ranked.sort((x, y) => (b.mode === "min" ? 1 : -1) * (x.metrics[b.metric]! - y.metrics[b.metric]!));
    for (const c of ranked.slice(0, b.count)) keep(c, `best ${b.count} by ${b.metric} (${b.mode})`);
  }
  if (r.keepEvery) {
    const { every, unit } = r.keepEvery;
    const seen = new Set<number>();
    for (const c of checkpoints) {
      const span = Math.floor((unit === "step" ? c.step : c.epoch) / every);
      if (seen.has(span)) continue;
      seen.add(span);
      keep(c, `every ${every} ${unit}${every === 1 ? "" : "s"}`);
    }
  }
  if (r.keepWithin !== undefined) {
    const since = p.nowMs - parseDuration(r.keepWithin);
    for (const c of checkpoints) if (c.createdUnixMs >= since) keep(c, `within ${r.keepWithin.trim()}`);
  }
  for (const c of checkpoints) {
    if (p.pinned.has(c.cid)) keep(c, "pinned");
    for (const run of p.resumedBy.get(c.cid) ?? []) keep(c, `resumed from by run ${run}`);
  }
  return reasons;
}
