import { O3mlError } from "@o3ml/errors";
import type { OperationFamily } from "./s3-request.js";

/**
 * The failures the O3-profile layer can inject:
 * - `internal-error`: HTTP 500 InternalError.
 * - `slow-down`: HTTP 503 SlowDown (with Retry-After: 1).
 * - `reset`: the client's connection is destroyed without an answer.
 * - `truncate`: the response body stops short of its Content-Length and the
 *   connection is closed.
 * - `bit-flip`: one bit of the response body is inverted.
 * - `latency`: the request waits `ms` before it is forwarded.
 * - `stall`: the response stops for `ms` after its first body chunk (or before
 *   its headers when it has no body), as a stuck connection would.
 */
export type FaultKind = "internal-error" | "slow-down" | "reset" | "truncate" | "bit-flip" | "latency" | "stall";

export const FAULT_KINDS: readonly FaultKind[] = ["internal-error", "slow-down", "reset", "truncate", "bit-flip", "latency", "stall"];

/** Operation families a rule applies to; `any` matches every request. */
export type FaultOperation = Exclude<OperationFamily, "OTHER"> | "any";

/** One fault and when it happens. */
export interface FaultRule {
  kind: FaultKind;
  /** Which requests the rule considers; default `any`. */
  operations?: FaultOperation | FaultOperation[];
  /** Only requests for this bucket. */
  bucket?: string;
  /** Only object requests whose key starts with this prefix. */
  keyPrefix?: string;
  /**
   * When the rule fires, among the requests it considers. `at` lists 1-based
   * positions, `every` fires on each n-th, `rate` is a probability drawn from
   * the plan's seeded PRNG. With none of them, the rule fires on every request.
   */
  at?: number[];
  every?: number;
  rate?: number;
  /** Stop after this many injections. */
  limit?: number;
  /** Duration for `latency` and `stall`; default 1000. */
  ms?: number;
  /** For `truncate`: how many body bytes get through; default half the body. */
  keepBytes?: number;
  /**
   * For `internal-error`, `slow-down` and `reset`: fail before the request
   * reaches the upstream (default), or after the upstream has carried it out,
   * so the write happened but the client never learns it did.
   */
  phase?: "before-upstream" | "after-upstream";
}

/** The faults in force; `{ rules: [] }` injects none. */
export interface FaultPlan {
  /** Seed of the PRNG behind `rate` and bit-flip positions; default 1. */
  seed?: number;
  rules: FaultRule[];
}

/** Throws INVALID_ARGUMENT when the plan cannot be carried out as written. */
export function validateFaultPlan(plan: FaultPlan): void {
  const bad = (i: number, what: string) =>
    new O3mlError("INVALID_ARGUMENT", `Fault rule ${i} (${plan.rules[i]?.kind}): ${what}`, { rule: i });
  if (!Array.isArray(plan.rules)) throw new O3mlError("INVALID_ARGUMENT", "A fault plan needs a rules array ({ rules: [] } for none)");
  plan.rules.forEach((r, i) => {
    if (!FAULT_KINDS.includes(r.kind)) throw bad(i, `unknown kind; use one of ${FAULT_KINDS.join(", ")}`);
    if (r.rate !== undefined && !(r.rate >= 0 && r.rate <= 1)) throw bad(i, "rate must be between 0 and 1");
    if (r.every !== undefined && !(Number.isInteger(r.every) && r.every >= 1)) throw bad(i, "every must be a positive integer");
    if (r.at?.some((n) => !(Number.isInteger(n) && n >= 1))) throw bad(i, "at must list positive integers (1-based)");
    if (r.ms !== undefined && !(r.ms >= 0)) throw bad(i, "ms must be zero or more");
    if (r.keepBytes !== undefined && !(Number.isInteger(r.keepBytes) && r.keepBytes >= 0)) throw bad(i, "keepBytes must be a non-negative integer");
    if (r.limit !== undefined && !(Number.isInteger(r.limit) && r.limit >= 0)) throw bad(i, "limit must be a non-negative integer");
  });
}
