import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isO3mlError } from "@o3ml/errors";
import type { FaultRule } from "./fault-plan.js";
import { FaultInjector } from "./faults.js";
import type { OperationFamily } from "./s3-request.js";

const req = (family: OperationFamily = "GET", key = "k", bucket = "bkt") => ({ family, key, bucket });
const fired = (inj: FaultInjector, n: number, r = req()) =>
  Array.from({ length: n }, () => inj.decide(r)).map((d) => d.answer !== undefined || d.truncate !== undefined || d.latencyMs > 0);

describe("FaultInjector", () => {
  it("fires on the listed positions and on every n-th request", () => {
    expect(fired(new FaultInjector({ rules: [{ kind: "internal-error", at: [2, 5] }] }), 6)).toEqual([false, true, false, false, true, false]);
    expect(fired(new FaultInjector({ rules: [{ kind: "slow-down", every: 3 }] }), 7)).toEqual([false, false, true, false, false, true, false]);
    expect(fired(new FaultInjector({ rules: [{ kind: "reset" }] }), 3)).toEqual([true, true, true]);
  });

  it("replays the same rate-driven schedule for the same seed, and a different one for another", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.double({ min: 0.05, max: 0.95, noNaN: true }), (seed, rate) => {
        const plan = { seed, rules: [{ kind: "internal-error" as const, rate }] };
        expect(fired(new FaultInjector(plan), 200)).toEqual(fired(new FaultInjector(plan), 200));
      }),
    );
    const a = fired(new FaultInjector({ seed: 1, rules: [{ kind: "internal-error", rate: 0.5 }] }), 64);
    const b = fired(new FaultInjector({ seed: 2, rules: [{ kind: "internal-error", rate: 0.5 }] }), 64);
    expect(a).not.toEqual(b);
  });

  it("fires at about the configured rate", () => {
    const hits = fired(new FaultInjector({ seed: 42, rules: [{ kind: "internal-error", rate: 0.2 }] }), 5000).filter(Boolean).length;
    expect(hits / 5000).toBeGreaterThan(0.17);
    expect(hits / 5000).toBeLessThan(0.23);
  });

  it("keeps one rule's schedule when another rule is added", () => {
    const rule: FaultRule = { kind: "internal-error", rate: 0.3 };
    const alone = new FaultInjector({ seed: 9, rules: [rule] });
    const paired = new FaultInjector({ seed: 9, rules: [rule, { kind: "latency", rate: 0.5, ms: 1 }] });
    const a = Array.from({ length: 100 }, () => alone.decide(req()).answer !== undefined);
    const b = Array.from({ length: 100 }, () => paired.decide(req()).answer !== undefined);
    expect(b).toEqual(a);
  });

  it("scopes rules by operation family, bucket and key prefix", () => {
    const inj = new FaultInjector({ rules: [{ kind: "internal-error", operations: ["PUT", "HEAD"], bucket: "bkt", keyPrefix: "ckpt/" }] });
    expect(inj.decide(req("PUT", "ckpt/1")).answer?.kind).toBe("internal-error");
    expect(inj.decide(req("HEAD", "ckpt/2")).answer?.kind).toBe("internal-error");
    expect(inj.decide(req("GET", "ckpt/1")).answer).toBeUndefined();
    expect(inj.decide(req("PUT", "other/1")).answer).toBeUndefined();
    expect(inj.decide(req("PUT", "ckpt/1", "elsewhere")).answer).toBeUndefined();
    expect(inj.decide(req("LIST", "")).answer).toBeUndefined();
    expect(inj.stats().rules[0]).toEqual({ kind: "internal-error", considered: 2, fired: 2 });
  });

  it("stops after the limit and combines latency with one answer fault", () => {
    const inj = new FaultInjector({
      rules: [
        { kind: "latency", ms: 5 },
        { kind: "latency", ms: 7 },
        { kind: "slow-down", limit: 1, phase: "after-upstream" },
        { kind: "internal-error" },
      ],
    });
    const first = inj.decide(req());
    expect(first.latencyMs).toBe(12);
    expect(first.answer).toEqual({ kind: "slow-down", phase: "after-upstream" });
    expect(inj.decide(req()).answer).toEqual({ kind: "internal-error", phase: "before-upstream" });
  });

  it("counts only what it is told was injected, across plan changes", () => {
    const inj = new FaultInjector({ rules: [{ kind: "bit-flip" }] });
    inj.decide(req());
    expect(inj.stats().faults["bit-flip"]).toBe(0);
    inj.count("bit-flip");
    inj.set({ rules: [] });
    expect(inj.stats().faults["bit-flip"]).toBe(1);
    expect(inj.stats().rules).toEqual([]);
  });

  it("refuses plans it cannot carry out, with INVALID_ARGUMENT", () => {
    for (const rule of [{ kind: "meteor" }, { kind: "latency", rate: 2 }, { kind: "latency", every: 0 }, { kind: "reset", at: [0] }, { kind: "stall", ms: -1 }]) {
      let caught: unknown;
      try {
        new FaultInjector({ rules: [rule as FaultRule] });
      } catch (err) {
        caught = err;
      }
      expect(isO3mlError(caught, "INVALID_ARGUMENT")).toBe(true);
    }
  });
});
