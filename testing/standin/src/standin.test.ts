import { CreateBucketCommand, GetBucketVersioningCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { s3ClientFor } from "./s3-client-for.js";
import { startStandin } from "./standin.js";

const answers = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    () => true,
    () => false,
  );

describe("startStandin", () => {
  it("is moto behind the O3-profile layer, says loudly that it is ephemeral, and stops both", async () => {
    const standin = await startStandin({ networkDelayMs: 50 });
    try {
      expect(standin.kind).toBe("o3-profile");
      expect(standin.upstream.kind).toBe("moto");
      expect(standin.ephemeral).toBe(true);
      expect(standin.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(standin.notice).toMatch(/stand-in for Akave O3/i);
      expect(standin.notice).toMatch(/only in memory/i);
      expect(standin.notice).toMatch(/lost when the service stops/i);
      for (const v of ["O3ML_ENDPOINT", "O3ML_ACCESS_KEY_ID", "O3ML_SECRET_ACCESS_KEY", "O3ML_BUCKET"]) expect(standin.notice).toContain(v);

      const s3 = s3ClientFor(standin);
      await s3.send(new CreateBucketCommand({ Bucket: "standin-check" }));
      expect((await s3.send(new GetBucketVersioningCommand({ Bucket: "standin-check" }))).Status).toBe("Enabled");
      const put = await s3.send(new PutObjectCommand({ Bucket: "standin-check", Key: "k", Body: "v" }));
      expect(put.ETag).toMatch(/^"[A-Za-z0-9+/]{22}=="$/);
      const got = await s3.send(new GetObjectCommand({ Bucket: "standin-check", Key: "k" }));
      expect(await got.Body!.transformToString()).toBe("v");
      s3.destroy();
    } finally {
      await standin.stop();
    }
    expect(await answers(`${standin.endpoint}/`)).toBe(false);
    expect(await answers(`${standin.upstream.endpoint}/moto-api/`)).toBe(false);
  }, 60_000);
});
