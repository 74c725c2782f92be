import { describe, expect, it } from "vitest";
import { runSuite } from "./suite.js";

/**
 * The quick profile of the reliability suite inside `npm test`: a few crash
 * points, the main fault types at 20 %, the whole hostile set, a short load.
 * It writes no docs; `npm run test:reliability` runs the full profile.
 */
describe("reliability (quick profile)", () => {
  it("recovers every crash, handles every hostile input, never corrupts silently and leaks no secret", async () => {
    const r = await runSuite({ quick: true, seed: 20261128 });
    expect(r.summary.silentCorruptions).toBe(0);
    expect(r.summary.unclearErrors).toBe(0);
    expect(r.summary.faultsInjected).toBeGreaterThan(0);
    expect(r.crashes.filter((p) => !p.recovered)).toEqual([]);
    expect(r.summary.crashPoints).toBeGreaterThanOrEqual(4);
    expect(r.hostile.filter((h) => !h.handled)).toEqual([]);
    expect(r.summary.loadErrors).toBe(0);
    expect(r.secrets.leaks).toEqual([]);
    expect(r.secrets.files).toBeGreaterThan(0);
    expect(r.acceptance.serviceRssBounded).toBe(true);
  }, 600_000);
});
