import { describe, expect, it } from "vitest";
import { within } from "./deadline.js";

const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("within", () => {
  it("returns the work's value and leaves no timer behind", async () => {
    const before = timers();
    const value = await within(Promise.resolve(7), 60_000, () => -1);
    expect(value).toBe(7);
    expect(timers()).toBe(before);
  });

  it("gives the fallback when the work is late, and the work's failure when it fails first", async () => {
    const before = timers();
    const never = new Promise<number>(() => {});
    await expect(within(never, 20, () => "late")).resolves.toBe("late");
    await expect(within(never, 20, () => { throw new Error("did not listen"); })).rejects.toThrow("did not listen");
    await expect(within(Promise.reject(new Error("exited")), 60_000, () => 0)).rejects.toThrow("exited");
    expect(timers()).toBe(before);
  });
});
