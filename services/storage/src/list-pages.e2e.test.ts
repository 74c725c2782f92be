import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceClient } from "@o3ml/client";
import { o3ml } from "@o3ml/proto";
import { startE2eService, streamOf as bytes, type E2eService } from "./e2e-service.test-support.js";
import { LABEL_LIMITS } from "./labels.js";
import { LIST_PAGE_BYTES } from "./object-repository.js";

/**
 * List pages are bounded in bytes as well as in entries: objects carrying the
 * most metadata allowed still list page by page, within every client's
 * message limit, none lost or repeated.
 */
const OBJECTS = 130;

describe("List pages bounded in bytes", { timeout: 180_000 }, () => {
  let e: E2eService;
  let client: ServiceClient;

  beforeAll(async () => {
    e = await startE2eService();
    client = new ServiceClient(e.svc.address);
  }, 120_000);
  afterAll(async () => {
    client?.close();
    await e?.stop();
  });

  it("lists objects with maximal labels across pages of at most about LIST_PAGE_BYTES", async () => {
    // Each object carries ~72 KB of labels: 130 of them are ~9 MB, more than one 8 MiB message.
    const labels = Object.fromEntries(Array.from({ length: LABEL_LIMITS.count }, (_, i) => [`label-${String(i).padStart(3, "0")}`, "v".repeat(LABEL_LIMITS.valueBytes)]));
    const keys = Array.from({ length: OBJECTS }, (_, i) => `heavy/${String(i).padStart(4, "0")}.bin`);
    for (let i = 0; i < keys.length; i += 10) {
      await Promise.all(keys.slice(i, i + 10).map((k) => client.put(k, bytes(Buffer.from(k)), { labels })));
    }
    const seen: string[] = [];
    let token = "";
    let pages = 0;
    do {
      const page = await client.list("heavy/", 1000, token);
      pages++;
      const encoded = o3ml.v1.ListResponse.encode(o3ml.v1.ListResponse.fromObject(page)).finish().byteLength;
      expect(encoded).toBeLessThanOrEqual(LIST_PAGE_BYTES + 128 * 1024);
      expect(page.objects.length).toBeGreaterThan(0);
      for (const o of page.objects) expect(Object.keys(o.labels ?? {})).toHaveLength(LABEL_LIMITS.count);
      seen.push(...page.objects.map((o) => o.key ?? ""));
      token = page.nextPageToken;
    } while (token);
    expect(seen).toEqual(keys);
    expect(pages).toBeGreaterThanOrEqual(9);
  });
});
