import { describe, expect, it } from "vitest";
import { keepSavedFromEnv } from "./host.js";

describe("O3ML_CACHE_SAVED", () => {
  it("is off unless set to a true value, and a value it cannot read stops the start naming it", () => {
    expect(keepSavedFromEnv({})).toBe(false);
    expect(keepSavedFromEnv({ O3ML_CACHE_SAVED: "0" })).toBe(false);
    expect(keepSavedFromEnv({ O3ML_CACHE_SAVED: " TRUE " })).toBe(true);
    expect(keepSavedFromEnv({ O3ML_CACHE_SAVED: "1" })).toBe(true);
    expect(() => keepSavedFromEnv({ O3ML_CACHE_SAVED: "sometimes" })).toThrow(/O3ML_CACHE_SAVED must be 1 or 0.*"sometimes"/);
  });
});
