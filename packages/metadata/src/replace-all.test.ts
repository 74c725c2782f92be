import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bulkHistory, sampleHistory, snapshot } from "./fixtures.test-support.js";
import { allBackends, mustRun, type Backend } from "./index-backends.test-support.js";
import type { MetadataIndex } from "./metadata-index.js";
import { openIndex } from "./open-index.js";

/** `replaceAll`: how a running service swaps in a rebuilt index without readers seeing it half-built. */
describe.each(allBackends().filter(mustRun))("replaceAll on $name", { timeout: 60_000 }, (backend: Backend) => {
  const open: MetadataIndex[] = [];
  const fresh = async (opts?: Awaited<ReturnType<Backend["fresh"]>>) => {
    const index = await openIndex(opts ?? (await backend.fresh()));
    open.push(index);
    return index;
  };

  beforeAll(() => backend.start(), 120_000);
  afterAll(async () => {
    for (const index of open) await index.close().catch(() => undefined);
    await backend.stop();
  }, 120_000);

  it("leaves exactly what the events imply, whatever the index held before", async () => {
    const events = sampleHistory();
    const expected = await fresh();
    await expected.applyAll(events);
    const index = await fresh();
    await index.applyAll(bulkHistory(2, 3));
    expect(await index.replaceAll([...events, events[0]!])).toBe(events.length);
    expect(await snapshot(index)).toEqual(await snapshot(expected));
  });

  it("never shows a reader a half-replaced index", async () => {
    const opts = await backend.fresh();
    const writer = await fresh(opts);
    const reader = await fresh(opts);
    const before = bulkHistory(3, 20);
    await writer.applyAll(before);
    const after = bulkHistory(4, 20, Date.parse("2026-01-01T00:00:00Z"));
    const seen = new Set<number>();
    let done = false;
    const watching = (async () => {
      while (!done) {
        seen.add((await reader.counts()).checkpoints);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await writer.replaceAll(after);
    done = true;
    await watching;
    seen.add((await reader.counts()).checkpoints);
    expect([...seen].every((n) => n === 60 || n === 80), `counts seen: ${[...seen].join(", ")}`).toBe(true);
    expect((await reader.counts()).checkpoints).toBe(80);
  });
});
