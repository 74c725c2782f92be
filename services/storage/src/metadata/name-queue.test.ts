import { describe, expect, it } from "vitest";
import { NameQueue } from "./name-queue.js";

describe("NameQueue", () => {
  it("runs tasks of one name one after another, and of different names side by side", async () => {
    const queue = new NameQueue();
    const log: string[] = [];
    const task = (label: string, ms: number) => async () => {
      log.push(`start ${label}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${label}`);
      return label;
    };
    const results = await Promise.all([queue.run("a", task("a1", 30)), queue.run("a", task("a2", 1)), queue.run("b", task("b1", 1))]);
    expect(results).toEqual(["a1", "a2", "b1"]);
    expect(log.indexOf("end a1")).toBeLessThan(log.indexOf("start a2"));
    expect(log.indexOf("start b1")).toBeLessThan(log.indexOf("end a1"));
  });

  it("goes on after a task fails", async () => {
    const queue = new NameQueue();
    await expect(queue.run("a", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(queue.run("a", async () => "next")).resolves.toBe("next");
  });
});
