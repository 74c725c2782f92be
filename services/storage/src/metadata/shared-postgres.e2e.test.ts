import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetadataClient } from "@o3ml/client";
import { openIndex } from "@o3ml/metadata";
import { storeIdentity } from "@o3ml/o3-client";
import { startMoto, type S3Server } from "@o3ml/standin";
import { postgresBinDir, startPostgres, type PostgresServer } from "../../../../packages/metadata/src/postgres-server.test-support.js";
import type { RunningService } from "../server.js";
import { configFor, o3ml, seedTraining, serviceAt, tempHome } from "./lineage-e2e.test-support.js";

const pgMissing = postgresBinDir().reason;
if (pgMissing && process.env.CI === "true") throw new Error(`PostgreSQL is required in CI: ${pgMissing}`);
if (pgMissing) console.warn(`\n*** SKIPPING the shared-PostgreSQL metadata e2e test: ${pgMissing} ***\n`);

/**
 * Two services (each with its own O3ML_HOME) in front of one bucket, sharing
 * one PostgreSQL index (O3ML_DATABASE_URL), writing at the same time: no
 * record may be lost or doubled, and both must answer the same.
 */
describe.skipIf(!!pgMissing)("two services sharing a bucket and a PostgreSQL index", { timeout: 300_000 }, () => {
  let s3: S3Server;
  let pg: PostgresServer;
  let url: string;
  const services: RunningService[] = [];
  const bucket = `o3ml-shared-${Date.now().toString(36)}`;

  beforeAll(async () => {
    [s3, pg] = await Promise.all([startMoto(), startPostgres()]);
    url = await pg.createDatabase("o3ml_shared");
    for (let i = 0; i < 2; i++) services.push(await serviceAt(configFor(s3, bucket), tempHome(), url));
  }, 240_000);
  afterAll(async () => {
    for (const svc of services) await svc.stop().catch(() => undefined);
    await pg?.stop();
    await s3?.stop();
  }, 120_000);

  it("loses no record and makes no duplicate when both write at once", async () => {
    const [a, b] = services as [RunningService, RunningService];
    const clients = [new MetadataClient(a.address), new MetadataClient(b.address)];
    try {
      const perService = 15;
      const [seedA, seedB, ...registered] = await Promise.all([
        seedTraining(a, "-a"),
        seedTraining(b, "-b"),
        ...clients.flatMap((c, s) => Array.from({ length: perService }, (_, i) => c.registerRun({ name: `parallel-${s}-${i}`, hyperparameters: { i } }))),
      ]);
      const runs = await clients[0]!.listRuns();
      const expected = [seedA.runId, seedA.finetuneId, seedB.runId, seedB.finetuneId, ...registered.map((r) => (r as { id: string }).id)];
      expect(runs.map((r) => r.id).sort()).toEqual([...expected].sort());
      expect(await clients[1]!.listRuns()).toEqual(runs);
      const checkpoints = await clients[1]!.listCheckpoints();
      expect(new Set(checkpoints.map((c) => c.id)).size).toBe(6);
      expect(checkpoints).toHaveLength(6);
      for (const id of [seedA.checkpoints[2]!, seedB.checkpoints[2]!]) {
        expect((await clients[0]!.lineage(id, "json")).rendered).toBe((await clients[1]!.lineage(id, "json")).rendered);
      }

      // Every event is in the log once, and the shared index holds exactly what the log implies.
      let logged = 0;
      for await (const _ of a.store.list("o3ml/v1/log/")) logged++;
      const index = await openIndex({ databaseUrl: url, store: storeIdentity(a.store.endpoint, a.store.bucket) });
      try {
        expect((await index.counts()).events).toBe(logged);
      } finally {
        await index.close();
      }
      const cli = await o3ml(["runs", "ls", "--json"], { O3ML_SERVICE: b.address });
      expect(cli.code, cli.stderr).toBe(0);
      const before = JSON.parse(cli.stdout) as unknown[];
      expect(before).toHaveLength(expected.length);

      // A rebuild by one service while the other keeps registering loses nothing either.
      const [rebuilt, late] = await Promise.all([
        clients[0]!.rebuildIndex(),
        Promise.all(Array.from({ length: 10 }, (_, i) => clients[1]!.registerRun({ name: `late-${i}` }))),
      ]);
      expect(Number(rebuilt.skipped)).toBe(0);
      const after = await clients[1]!.listRuns();
      expect(after.map((r) => r.id).sort()).toEqual([...expected, ...late.map((r) => r.id)].sort());
    } finally {
      for (const c of clients) c.close();
    }
  });
});
