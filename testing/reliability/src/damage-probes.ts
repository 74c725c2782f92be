import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cidOf } from "@o3ml/integrity";
import { freePort } from "@o3ml/standin";
import { blobKey, manifestKey, refPrefix } from "@o3ml/repository";
import { ServiceProcess, type CliResult, type Cluster } from "./cluster.js";
import type { CaseResult } from "./outcome.js";
import { Seeded } from "./seeded.js";

/**
 * Classes of data-loss and false-"ok" defects, probed from outside through
 * the CLI with the bucket altered behind the service's back:
 *
 * - deletion + gc: a deleted key stays deleted through every collection;
 * - multi-service gc: a blob one service's gc removed is stored again by
 *   another service that had remembered it;
 * - verify after caching: damage made after the service read (and
 *   remembered) an object is found, every item of it;
 * - listing with damage: a damaged object is listed with its problem and
 *   its neighbours stay readable.
 *
 * Everything a probe damages is removed again, so later phases see a clean bucket.
 */
const MiB = 1024 * 1024;

export async function runDamageProbes(c: Cluster, root: string, opts: { seed: number; rounds: number }): Promise<CaseResult[]> {
  const seed = opts.seed;
  const rnd = new Seeded(seed ^ 0xda3a9e);
  const dir = join(root, "probes");
  mkdirSync(dir, { recursive: true });
  const results: CaseResult[] = [];
  const record = async (group: string, name: string, fn: () => Promise<string | undefined>) => {
    try {
      const problem = await fn();
      results.push({ group, name, handled: problem === undefined, detail: problem ?? "as expected" });
    } catch (err) {
      results.push({ group, name, handled: false, detail: `probe failed: ${(err as Error).message}`.slice(0, 500) });
    }
  };
  let files = 0;
  const file = (size: number): { path: string; bytes: Buffer } => {
    const bytes = rnd.bytes(size);
    const path = join(dir, `f${files++}.bin`);
    writeFileSync(path, bytes);
    return { path, bytes };
  };
  const ok = (r: CliResult, what: string) => {
    if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.slice(0, 300)}`);
    return r;
  };
  const readBack = async (key: string, env?: NodeJS.ProcessEnv): Promise<CliResult & { bytes?: Buffer }> => {
    const out = join(dir, `read-${files++}.bin`);
    const r = await c.cli(["get", key, out], { env });
    return { ...r, bytes: r.code === 0 ? readFileSync(out) : undefined };
  };
  const listed = async (prefix: string, env?: NodeJS.ProcessEnv): Promise<{ key: string; problem?: string }[]> =>
    JSON.parse(ok(await c.cli(["ls", prefix, "--json"], { env }), `o3ml ls ${prefix}`).stdout) as { key: string; problem?: string }[];
  const refsOf = async (key: string) => {
    const out: string[] = [];
    for await (const o of c.direct.list(refPrefix("objects", key))) out.push(o.key);
    return out;
  };

  // deletion + gc
  const versions = 1 + rnd.int(0, 3 - 1);
  await record("deletion + gc", `a key with ${versions} version(s), deleted, stays deleted through gc with and without grace`, async () => {
    const key = `probes/deleted/${rnd.int(0, 1e9 - 1)}.bin`;
    for (let v = 0; v < versions; v++) ok(await c.cli(["put", file(1 + rnd.int(0, 2 * MiB - 1)).path, key]), "o3ml put");
    ok(await c.cli(["rm", key]), "o3ml rm");
    for (const grace of ["3600", "3600", "0"]) {
      ok(await c.cli(["gc", "--grace", grace, "--json"]), `o3ml gc --grace ${grace}`);
      const r = await readBack(key);
      if (r.code === 0) return `after gc --grace ${grace} the deleted key reads back ${r.bytes?.byteLength} bytes`;
      if ((await listed("probes/deleted/")).some((o) => o.key === key)) return `after gc --grace ${grace} the deleted key is listed again`;
    }
    const left = await refsOf(key);
    return left.length ? `gc --grace 0 left ${left.length} ref(s) of the deleted key: ${left.join(", ")}` : undefined;
  });

  // multi-service gc
  const other = new ServiceProcess(await freePort(), c.serviceEnv({ O3ML_HOME: join(root, "home-b") }), mkdirp(join(c.logDir, "service-b")));
  try {
    // A busy host may take long to start a second service; the probes need it, the suite must not die of it.
    await other.start(180_000);
  } catch (err) {
    results.push({ group: "multi-service gc", name: "start a second service on the bucket", handled: false, detail: (err as Error).message });
    return results;
  }
  const viaB = { ...c.clientEnv(), O3ML_SERVICE: other.address };
  try {
    for (let round = 0; round < opts.rounds; round++) {
      await record("multi-service gc", `round ${round}: a blob collected by service A is stored again by service B`, async () => {
        const x = file(MiB + rnd.int(0, 2 * MiB - 1));
        const k1 = `probes/multi/${round}-a.bin`;
        ok(await c.cli(["put", x.path, k1], { env: viaB }), "put through B");
        ok(await c.cli(["put", file(1000).path, k1], { env: viaB }), "overwrite through B");
        ok(await c.cli(["gc", "--grace", "0", "--json"]), "gc through A");
        if (await c.direct.head(blobKey(cidOf(x.bytes.subarray(0, MiB))))) return "gc through A did not remove the unreachable blob; the probe proves nothing";
        await new Promise((r) => setTimeout(r, 1100));
        const k2 = `probes/multi/${round}-b.bin`;
        const put = await c.cli(["put", x.path, k2], { env: viaB });
        // A put may refuse (ABORTED, nothing committed); it must never report success without the bytes.
        if (put.code !== 0) return /ABORTED/.test(put.stderr) ? undefined : `put through B failed unclearly: ${put.stderr.slice(0, 300)}`;
        const back = await readBack(k2);
        if (!back.bytes?.equals(x.bytes)) return `put through B reported success, but reading it through A gives: ${back.code} ${back.stderr.slice(0, 300)}`;
        return undefined;
      });
    }

    // listing with damage: service B has read nothing of these, so it sees the bucket as it is.
    await record("listing with damage", "a garbage manifest and a missing one are listed with their problem; neighbours read", async () => {
      const keys = [0, 1, 2, 3].map((i) => `probes/listing/${i}.bin`);
      const put = [];
      for (const k of keys) {
        const f = file(1000 + rnd.int(0, MiB - 1));
        ok(await c.cli(["put", f.path, k]), "o3ml put");
        put.push({ key: k, ...f, cid: (JSON.parse(ok(await c.cli(["stat", k, "--json"]), "o3ml stat").stdout) as { cid: string }).cid });
      }
      await c.direct.put(manifestKey(put[1]!.cid), rnd.bytes(64));
      await c.direct.delete(manifestKey(put[2]!.cid));
      try {
        const seen = await listed("probes/listing/", viaB);
        if (seen.map((o) => o.key).join() !== keys.join()) return `listing gave ${seen.map((o) => o.key).join(", ")}`;
        if (!seen[1]!.problem || !seen[2]!.problem || seen[0]!.problem || seen[3]!.problem) return `problems listed: ${JSON.stringify(seen.map((o) => o.problem ?? null))}`;
        const neighbour = await readBack(keys[3]!, viaB);
        if (!neighbour.bytes?.equals(put[3]!.bytes)) return `a neighbour of the damage did not read back: ${neighbour.stderr.slice(0, 200)}`;
        const damaged = await readBack(keys[1]!, viaB);
        return damaged.code === 5 ? undefined : `reading the damaged object exited ${damaged.code}, not 5 (INTEGRITY)`;
      } finally {
        for (const k of keys) await c.cli(["rm", k]);
      }
    });
  } finally {
    await other.stop();
  }

  // verify after caching
  await record("verify after caching", "four kinds of damage made after the service read every object are each reported", async () => {
    const items = [0, 1, 2, 3, 4].map((i) => ({ key: `probes/verify/${i}.bin`, ...file(MiB + 1 + rnd.int(0, MiB - 1)) }));
    for (const it of items) ok(await c.cli(["put", it.path, it.key]), "o3ml put");
    for (const it of items) ok(await readBack(it.key), "o3ml get"); // the service now remembers every manifest
    const first = (b: Buffer) => b.subarray(0, MiB);
    const flipped = Buffer.from(first(items[0]!.bytes));
    flipped[rnd.int(0, MiB - 1)]! ^= 1 << rnd.int(0, 8 - 1);
    await c.direct.put(blobKey(cidOf(first(items[0]!.bytes))), flipped);
    await c.direct.put(blobKey(cidOf(first(items[1]!.bytes))), first(items[1]!.bytes).subarray(0, MiB - 1 - rnd.int(0, 1000 - 1)));
    await c.direct.delete(blobKey(cidOf(first(items[2]!.bytes))));
    const stat = JSON.parse(ok(await c.cli(["stat", items[3]!.key, "--json"]), "o3ml stat").stdout) as { cid: string };
    await c.direct.put(manifestKey(stat.cid), rnd.bytes(128));
    try {
      const r = await c.cli(["verify", "--no-checkpoints", "--no-datasets", "--json"], { timeoutMs: 600_000 });
      const report = JSON.parse(r.stdout) as { ok: boolean; failures: { name: string }[] };
      const named = report.failures.map((f) => f.name).filter((n) => n.startsWith("probes/verify/"));
      const want = items.slice(0, 4).map((it) => it.key);
      if (r.code !== 5 || report.ok) return `verify exited ${r.code} with ok=${report.ok}`;
      const missed = want.filter((k) => !named.includes(k));
      if (missed.length) return `verify did not report ${missed.join(", ")}`;
      return named.includes(items[4]!.key) ? `verify reported the undamaged ${items[4]!.key}` : undefined;
    } finally {
      for (const it of items) await c.cli(["rm", it.key]);
    }
  });
  return results;
}

function mkdirp(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}
