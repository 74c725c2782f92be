import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newEvent } from "@o3ml/repository";
import { cid } from "./fixtures.test-support.js";
import { allBackends, mustRun, type Backend } from "./index-backends.test-support.js";
import type { MetadataIndex } from "./metadata-index.js";
import { openIndex } from "./open-index.js";

/** `dataset.version.deleted` and `run.deleted`: what they remove, and that a replay of the log removes it again. */
describe.each(allBackends().filter(mustRun))("deletion events on $name", { timeout: 60_000 }, (backend: Backend) => {
  const open: MetadataIndex[] = [];
  const fresh = async () => {
    const index = await openIndex(await backend.fresh());
    open.push(index);
    return index;
  };
  beforeAll(() => backend.start(), 120_000);
  afterAll(async () => {
    for (const index of open) await index.close().catch(() => undefined);
    await backend.stop();
  }, 120_000);

  const history = () => [
    newEvent("dataset.version.created", { dataset: "digits", version: "v1", manifestCid: cid("v1"), samples: 1, bytes: 10 }),
    newEvent("dataset.version.created", { dataset: "digits", version: "v2", manifestCid: cid("v2"), samples: 1, bytes: 10 }),
    newEvent("dataset.version.created", { dataset: "solo", version: "v1", manifestCid: cid("s1"), samples: 1, bytes: 10 }),
    newEvent("run.created", { runId: "01JRUNAAAAAAAAAAAAAAAAAAAA", name: "gone", hyperparameters: {}, packages: {} }),
    newEvent("run.created", { runId: "01JRUNBBBBBBBBBBBBBBBBBBBB", name: "kept", hyperparameters: {}, packages: {} }),
    newEvent("dataset.version.deleted", { dataset: "digits", version: "v1", manifestCid: cid("v1") }),
    // A deletion naming another manifest than the version's (a name@version taken again) leaves it.
    newEvent("dataset.version.deleted", { dataset: "digits", version: "v2", manifestCid: cid("other") }),
    newEvent("dataset.version.deleted", { dataset: "solo", version: "v1", manifestCid: cid("s1") }),
    newEvent("run.deleted", { runId: "01JRUNAAAAAAAAAAAAAAAAAAAA" }),
  ];

  it("removes the version, a dataset left without versions, and the run; a replay agrees", async () => {
    const events = history();
    const applied = await fresh();
    for (const e of events) await applied.apply(e);
    const replayed = await fresh();
    await replayed.replaceAll(events);
    for (const index of [applied, replayed]) {
      expect((await index.listDatasetVersions("digits")).map((v) => v.version)).toEqual(["v2"]);
      expect((await index.listDatasets()).map((d) => d.name)).toEqual(["digits"]);
      expect((await index.listRuns()).map((r) => r.name)).toEqual(["kept"]);
      await expect(index.getRun("gone")).rejects.toMatchObject({ code: "NOT_FOUND" });
    }
  });
});
