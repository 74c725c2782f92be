import { afterEach, describe, expect, it } from "vitest";
import { progressFor } from "./progress.js";

const MiB = 1024 * 1024;

describe("a byte-progress bar on a terminal", () => {
  const wasTty = process.stderr.isTTY;
  const write = process.stderr.write.bind(process.stderr);
  afterEach(() => {
    process.stderr.isTTY = wasTty;
    process.stderr.write = write;
  });

  it("never shows more done than its total when the estimated total falls short", () => {
    let drawn = "";
    process.stderr.isTTY = true;
    process.stderr.write = ((chunk: string | Uint8Array) => ((drawn += String(chunk)), true));
    const bar = progressFor("pushing", 10 * MiB, false);
    bar.tick(6 * MiB);
    bar.tick(6 * MiB);
    bar.stop();
    const shown = [...drawn.matchAll(/(\d+\.\d)\/(\d+\.\d) MiB/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(shown.length).toBeGreaterThan(0);
    for (const [done, total] of shown) expect(done).toBeLessThanOrEqual(total!);
    expect(shown.at(-1)).toEqual([12, 12]);
  });
});
