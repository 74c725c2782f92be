import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { flipOneBit, stallBody, truncateBody } from "./fault-streams.js";
import { seededRandom } from "./seeded-random.js";

async function run(chunks: Buffer[], stage: NodeJS.ReadWriteStream): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), stage, new Writable({ write: (c, _e, cb) => (out.push(c), cb()) }));
  return Buffer.concat(out);
}

const chunked = fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { minLength: 1, maxLength: 8 }).map((cs) => cs.map((c) => Buffer.from(c)));

describe("body faults", () => {
  it("truncation keeps exactly the first keepBytes bytes and reports the cut once", async () => {
    await fc.assert(
      fc.asyncProperty(chunked, fc.nat(600), async (chunks, keep) => {
        const whole = Buffer.concat(chunks);
        let cuts = 0;
        const out = await run(chunks, truncateBody(keep, () => cuts++));
        expect(out.equals(whole.subarray(0, keep))).toBe(true);
        expect(cuts).toBe(keep < whole.length ? 1 : 0);
      }),
    );
  });

  it("a bit flip changes exactly one bit at the chosen offset", async () => {
    await fc.assert(
      fc.asyncProperty(chunked, fc.integer({ min: 0, max: 2 ** 31 }), async (chunks, seed) => {
        const whole = Buffer.concat(chunks);
        const offset = seed % whole.length;
        let flips = 0;
        const out = await run(chunks, flipOneBit(offset, seededRandom(seed), () => flips++));
        expect(out.length).toBe(whole.length);
        const diff = [...out].map((b, i) => b ^ whole[i]!);
        expect(diff.filter((d) => d !== 0)).toHaveLength(1);
        expect(Math.log2(diff[offset]!) % 1).toBe(0);
        expect(flips).toBe(1);
      }),
    );
  });

  it("a stall holds the body after its first chunk", async () => {
    const started = Date.now();
    const out = await run([Buffer.from("a"), Buffer.from("b")], stallBody(150, () => undefined));
    expect(out.toString()).toBe("ab");
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});
