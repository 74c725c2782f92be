import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startO3Profile, type O3ProfileServer } from "./o3-profile.js";
import { s3ClientFor } from "./s3-client-for.js";
import type { S3Server } from "./s3-server.js";
import { uniqueBucket, upstreamCases } from "./upstreams.fixture.js";

const MiB = 1024 * 1024;
// Large enough that buffering (at least SIZE of growth) stands clear of the
// garbage collector's lag, which reached 66 MiB on a busy host under Node 24.
const SIZE = 256 * MiB;

/** SIZE bytes of a repeating, non-constant pattern, generated as they are read. */
function patternStream(): Readable {
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + (i >>> 10)) & 0xff;
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= SIZE) return void this.push(null);
      sent += chunk.length;
      this.push(Buffer.from(chunk));
    },
  });
}

/** Samples this process's RSS while `work` runs; returns the peak growth in bytes. */
async function peakRssGrowth(work: () => Promise<void>): Promise<number> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage().rss) - base;
}

for (const upstreamCase of upstreamCases()) {
  describe.skipIf(!upstreamCase.start)(`streaming through the O3-profile layer over ${upstreamCase.name}`, { timeout: 30_000 }, () => {
    let upstream: S3Server;
    let proxy: O3ProfileServer;
    let s3: S3Client;
    let bucket: string;

    beforeAll(async () => {
      upstream = await upstreamCase.start!();
      proxy = await startO3Profile(upstream);
      s3 = s3ClientFor(proxy);
      bucket = uniqueBucket("o3p-stream");
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    }, 60_000);
    afterAll(async () => {
      await proxy?.stop();
      await upstream?.stop();
    }, 30_000);

    // The proxy runs in this process; if it buffered bodies, RSS would grow
    // by at least the object size. Both ends stream, so neither does the test.
    it("moves a 256 MiB object both ways without holding it in memory", async () => {
      const expected = createHash("md5");
      for await (const c of patternStream()) expected.update(c as Buffer);
      const want = expected.digest("base64");

      const upGrowth = await peakRssGrowth(async () => {
        const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "big", Body: patternStream(), ContentLength: SIZE }));
        expect(put.ETag).toBe(`"${want}"`);
      });
      let got = "";
      let length = 0;
      const downGrowth = await peakRssGrowth(async () => {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "big" }));
        const hash = createHash("md5");
        for await (const c of out.Body as Readable) {
          hash.update(c as Buffer);
          length += (c as Buffer).length;
        }
        got = hash.digest("base64");
      });
      expect(length).toBe(SIZE);
      expect(got).toBe(want);
      // Buffering the body would grow RSS by at least SIZE; the garbage
      // collector alone can lag by tens of MiB, so the bound sits below SIZE.
      expect(upGrowth).toBeLessThan(SIZE * 0.75);
      expect(downGrowth).toBeLessThan(SIZE * 0.75);
    }, 120_000);
  });
}
