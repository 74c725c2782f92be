import { FAULT_KINDS, validateFaultPlan, type FaultKind, type FaultPlan, type FaultRule } from "./fault-plan.js";
import type { S3Request } from "./s3-request.js";
import { seededRandom } from "./seeded-random.js";

/** Faults that replace the upstream's answer. */
export type AnswerFault = { kind: "internal-error" | "slow-down" | "reset"; phase: "before-upstream" | "after-upstream" };

/** What to do to one request; empty when no rule fired. */
export interface FaultDecision {
  latencyMs: number;
  answer?: AnswerFault;
  truncate?: { keepBytes?: number };
  bitFlip?: { random: () => number };
  stallMs?: number;
}

/** Per-rule counters of the plan in force. */
export interface RuleStats {
  kind: FaultKind;
  /** Requests in the rule's scope. */
  considered: number;
  /** Times the rule fired (a fault that cannot apply, e.g. bit-flip on an empty body, is not injected). */
  fired: number;
}

interface ActiveRule {
  rule: FaultRule;
  operations: Set<string>;
  random: () => number;
  stats: RuleStats;
}

const DEFAULT_MS = 1000;

/**
 * Decides, request by request, which faults of a FaultPlan happen. Every rule
 * keeps its own position counter and its own PRNG (seeded from the plan seed
 * and the rule's index), so a rule's schedule does not shift when other rules
 * are added, and a sequential client sees the same faults on every run.
 * `injected` counts faults actually applied, per kind, across plan changes.
 */
export class FaultInjector {
  private active: ActiveRule[] = [];
  private readonly injected = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;

  constructor(plan: FaultPlan = { rules: [] }) {
    this.set(plan);
  }

  /** Replaces the plan; positions and PRNGs restart. */
  set(plan: FaultPlan): void {
    validateFaultPlan(plan);
    const seed = plan.seed ?? 1;
    this.active = plan.rules.map((rule, i) => {
      const ops = rule.operations === undefined ? ["any"] : ([] as string[]).concat(rule.operations);
      return {
        rule: { ...rule },
        operations: new Set(ops),
        random: seededRandom((seed * 0x9e3779b1 + i * 0x85ebca6b) >>> 0),
        stats: { kind: rule.kind, considered: 0, fired: 0 },
      };
    });
  }

  decide(req: Pick<S3Request, "family" | "bucket" | "key">): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0 };
    for (const a of this.active) {
      if (!inScope(a, req)) continue;
      a.stats.considered++;
      if (!fires(a)) continue;
      a.stats.fired++;
      const { rule } = a;
      switch (rule.kind) {
        case "latency":
          decision.latencyMs += rule.ms ?? DEFAULT_MS;
          break;
        case "stall":
          decision.stallMs = Math.max(decision.stallMs ?? 0, rule.ms ?? DEFAULT_MS);
          break;
        case "truncate":
          decision.truncate ??= { keepBytes: rule.keepBytes };
          break;
        case "bit-flip":
          decision.bitFlip ??= { random: a.random };
          break;
        default:
          decision.answer ??= { kind: rule.kind, phase: rule.phase ?? "before-upstream" };
      }
    }
    return decision;
  }

  /** Records that a fault of this kind was applied. */
  count(kind: FaultKind): void {
    this.injected[kind]++;
  }

  stats(): { faults: Record<FaultKind, number>; rules: RuleStats[] } {
    return { faults: { ...this.injected }, rules: this.active.map((a) => ({ ...a.stats })) };
  }
}

function inScope(a: ActiveRule, req: Pick<S3Request, "family" | "bucket" | "key">): boolean {
  if (!a.operations.has("any") && !a.operations.has(req.family)) return false;
  if (a.rule.bucket !== undefined && a.rule.bucket !== req.bucket) return false;
  if (a.rule.keyPrefix !== undefined && !(req.key && req.key.startsWith(a.rule.keyPrefix))) return false;
  return true;
}

function fires(a: ActiveRule): boolean {
  const { rule, stats } = a;
  if (rule.limit !== undefined && stats.fired >= rule.limit) return false;
  const n = stats.considered;
  const scheduled = rule.at !== undefined || rule.every !== undefined || rule.rate !== undefined;
  if (!scheduled) return true;
  if (rule.at?.includes(n)) return true;
  if (rule.every !== undefined && n % rule.every === 0) return true;
  // Drawn only for rate rules, so that a rule's sequence depends on nothing else.
  return rule.rate !== undefined && a.random() < rule.rate;
}
