import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AdminClient, CheckpointClient, DatasetClient, type WireCheckpointInfo } from "@o3ml/client";
import { tracked } from "./children.js";
import { CLI, REPO_ROOT, type Cluster } from "./cluster.js";
import { within } from "./deadline.js";
import { Seeded } from "./seeded.js";
import { ForkServer, type TrainerProcess } from "./trainer-process.js";

/**
 * The crash matrix: seeded SIGKILLs of the trainer (at random moments, inside
 * a checkpoint upload, inside an upload stopped halfway), of `o3ml dataset
 * push`, of the service mid-stream, and restarts of the S3 server mid-run.
 * The trainer runs are a chain: each one resumes the run the previous one left,
 * so every crash is followed by a real resume. A point is recovered when:
 * - the next start resumes from the newest committed checkpoint, and every
 *   save the trainer saw acknowledged is still there;
 * - everything visible verifies (no partial checkpoint or dataset version);
 * - `o3ml verify` (or `ckpt verify` / `dataset verify`) passes;
 * - `o3ml gc --grace 0` reclaims the orphans: a dry run right after finds nothing more.
 */
export type CrashKind = "trainer-random" | "trainer-in-upload" | "trainer-hung-upload" | "dataset-push" | "service-mid-checkpoint" | "service-mid-push" | "s3-restart";

export interface CrashPoint {
  index: number;
  kind: CrashKind;
  what: string;
  recovered: boolean;
  failures: string[];
  orphansReclaimed: number;
  seconds: number;
}

const RUN = "reliability/crash-run";
const DATASET = "reliability-crash";

export function crashPlan(seed: number, points: number): CrashKind[] {
  // A fixed mix, shuffled by the seed: a third random trainer kills, the rest spread over the other kinds.
  const mix: CrashKind[] = ["trainer-random", "trainer-in-upload", "dataset-push", "trainer-random", "service-mid-checkpoint", "trainer-hung-upload", "s3-restart", "trainer-in-upload", "service-mid-push", "trainer-random", "dataset-push", "s3-restart"];
  const plan = Array.from({ length: points }, (_, i) => mix[i % mix.length]!);
  const rnd = new Seeded(seed);
  for (let i = plan.length - 1; i > 0; i--) {
    const j = rnd.int(0, i);
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  return plan;
}

export async function runCrashMatrix(c: Cluster, root: string, opts: { seed: number; points: number; cliVerify: "verify" | "per-item" }): Promise<CrashPoint[]> {
  const rnd = new Seeded(opts.seed);
  const plan = crashPlan(opts.seed, opts.points);
  const results: CrashPoint[] = [];
  const verified = new Set<string>();
  const datasetInput = join(root, "crash-dataset");
  mkdirSync(datasetInput, { recursive: true });
  for (let i = 0; i < 24; i++) writeFileSync(join(datasetInput, `s-${String(i).padStart(2, "0")}.bin`), rnd.bytes(160 * 1024));
  let trainerRuns = 0;
  const trainers = new ForkServer(c.clientEnv(), join(c.logDir, "fork-server.log"));
  /** The point whose recovery the next trainer start proves (or disproves) by resuming. */
  let pendingResume: { point: CrashPoint; acknowledged: Map<string, string> } | undefined;

  const ckpts = () => new CheckpointClient(c.service.address, c.token);
  const live = async (): Promise<WireCheckpointInfo[]> => {
    const client = ckpts();
    try {
      return (await client.list(RUN)).filter((x) => x.state !== "deleted");
    } finally {
      client.close();
    }
  };
  const newest = (xs: WireCheckpointInfo[]) =>
    xs.reduce<WireCheckpointInfo | undefined>((best, x) => {
      if (!best) return x;
      const a = [Number(x.createdUnixMs), Number(x.step)];
      const b = [Number(best.createdUnixMs), Number(best.step)];
      return a[0]! > b[0]! || (a[0] === b[0] && a[1]! > b[1]!) ? x : best;
    }, undefined);

  const startTrainer = async (extra: string[] = []): Promise<TrainerProcess> => {
    const before = newest(await live());
    const t = await trainers.start(["--run", RUN, "--bucket", c.bucket, ...extra], join(c.logDir, `trainer-${++trainerRuns}.log`));
    const line = await t.waitFor(/^RESUMED /, 120_000);
    const [, step, cid] = line.split(" ");
    if (pendingResume) {
      const p = pendingResume.point;
      const want = before ? String(before.cid) : "-";
      if (cid !== want) p.failures.push(`resumed from ${cid} (step ${step}), not the newest committed ${want}`);
      const visible = new Map((await live()).map((x) => [String(x.key), String(x.cid)]));
      for (const [key, acked] of pendingResume.acknowledged) {
        if (!visible.has(key)) p.failures.push(`acknowledged checkpoint ${key} (${acked}) is gone`);
      }
      p.recovered = p.failures.length === 0;
      pendingResume = undefined;
    }
    return t;
  };

  /** Checks shared by every point, run while nothing writes. */
  const settle = async (p: CrashPoint, inFlight?: string) => {
    const client = ckpts();
    try {
      for (const x of await live()) {
        const id = String(x.cid);
        if (verified.has(id)) continue;
        const ok = await client.verify(id).then(() => true, (e: Error) => (p.failures.push(`checkpoint ${x.key} (${id}) is visible but does not verify: ${e.message}`), false));
        if (ok) verified.add(id);
      }
    } finally {
      client.close();
    }
    if (inFlight) p.what += (await live()).some((x) => x.key === inFlight) ? `; ${inFlight} had committed before the kill` : `; ${inFlight} is not visible`;
    const ds = new DatasetClient(c.service.address, c.token);
    try {
      for (const v of await ds.list(DATASET).catch(() => [])) {
        const spec = `${v.name}@${v.version}`;
        if (verified.has(spec)) continue;
        const r = await c.cli(["dataset", "verify", spec, "--json"]);
        if (r.code === 0) verified.add(spec);
        else p.failures.push(`dataset version ${spec} is visible but does not verify: ${r.stderr.slice(0, 300)}`);
      }
    } finally {
      ds.close();
    }
    // `o3ml gc` and `o3ml verify` side by side (gc deletes only what no ref reaches, verify reads only that).
    const top = newest(await live());
    const verifyArgs = opts.cliVerify === "verify" ? ["verify", "--json"] : top ? ["ckpt", "verify", String(top.key), "--json"] : undefined;
    const [gc, v] = await Promise.all([c.cli(["gc", "--grace", "0", "--json"]), verifyArgs ? c.cli(verifyArgs, { timeoutMs: 300_000 }) : undefined]);
    if (v && v.code !== 0) p.failures.push(`o3ml ${verifyArgs!.join(" ")} failed (${v.code}): ${(v.stderr || v.stdout).slice(0, 300)}`);
    if (gc.code !== 0) p.failures.push(`o3ml gc failed: ${gc.stderr.slice(0, 300)}`);
    else {
      const r = JSON.parse(gc.stdout) as { deleted: { blobs: { count: number }; manifests: { count: number } }; brokenNames: string[] };
      p.orphansReclaimed += r.deleted.blobs.count + r.deleted.manifests.count;
      if (r.brokenNames.length) p.failures.push(`gc found names whose manifest is missing: ${r.brokenNames.join(", ")}`);
    }
    const admin = new AdminClient(c.service.address, c.token);
    try {
      const left = await admin.collectGarbage({ dryRun: true, graceSeconds: 0 });
      const n = Number(left.deletedBlobs?.count ?? 0) + Number(left.deletedManifests?.count ?? 0);
      if (n > 0) p.failures.push(`after o3ml gc, ${n} unreachable blobs and manifests are left`);
    } catch (err) {
      p.failures.push(`gc dry run failed: ${(err as Error).message.slice(0, 300)}`);
    } finally {
      admin.close();
    }
  };

  const push = (version: string) => {
    return { args: ["dataset", "push", datasetInput, "--name", DATASET, "--version", version, "--kind", "files", "--shard-size", "128KiB", "--json"] };
  };

  let current: TrainerProcess | undefined;
  try {
  for (let index = 0; index < plan.length; index++) {
    const kind = plan[index]!;
    const p: CrashPoint = { index, kind, what: "", recovered: false, failures: [], orphansReclaimed: 0, seconds: 0 };
    const started = Date.now();
    let inFlight: string | undefined;
    try {
      if (kind === "dataset-push" || kind === "service-mid-push") {
        // Latency on every PUT stretches the push over a few seconds so the kill lands inside it.
        c.profile.setFaults({ seed: opts.seed + index, rules: [{ kind: "latency", operations: "PUT", ms: 60 }] });
        const version = `v${index}`;
        const { args } = push(version);
        const pusher = spawnCli(c, args);
        // Count from the push's first PUT (CLI start-up takes a while here), then a random delay.
        const deadline = Date.now() + 60_000;
        while ((c.profile.stats().rules[0]?.considered ?? 0) === 0 && Date.now() < deadline && pusher.running()) await sleep(20);
        const delay = rnd.int(0, 2000);
        await sleep(delay);
        if (kind === "dataset-push") {
          p.what = `SIGKILL o3ml dataset push ${delay} ms after its first PUT`;
          pusher.kill();
        } else {
          p.what = `SIGKILL the service ${delay} ms after the push's first PUT, restart it`;
          await c.service.kill();
          await sleep(rnd.int(200, 1000));
          await c.service.start();
        }
        const end = await pusher.exited;
        c.profile.setFaults({ rules: [] });
        p.what += end.code === 0 ? " (the push had finished)" : "";
        if (kind === "service-mid-push" && end.code !== 0 && !/UNAVAILABLE|unavailable|cannot reach|CANCELLED|cancelled|ABORTED|reset/i.test(end.stderr)) {
          p.failures.push(`the interrupted push did not say why: ${end.stderr.slice(0, 300)}`);
        }
        await settle(p);
        // Recovery for a dataset: pushing the same version again succeeds (or it is already there, whole).
        const ds = new DatasetClient(c.service.address, c.token);
        const exists = await ds.resolve(`${DATASET}@${version}`).then(() => true, () => false);
        ds.close();
        if (!exists) {
          const again = await c.cli(push(version).args);
          if (again.code !== 0) p.failures.push(`pushing ${version} again failed: ${again.stderr.slice(0, 300)}`);
          else {
            const v = await c.cli(["dataset", "verify", `${DATASET}@${version}`, "--json"]);
            if (v.code !== 0) p.failures.push(`the re-pushed ${version} does not verify: ${v.stderr.slice(0, 300)}`);
            else verified.add(`${DATASET}@${version}`);
          }
        }
        p.recovered = p.failures.length === 0;
      } else {
        const hangAt = kind === "trainer-hung-upload" ? rnd.int(1, 3) : 0;
        const t = (current = await startTrainer(hangAt ? ["--hang-at-save", String(hangAt)] : []));
        const from = t.lines.length;
        if (kind === "trainer-random") {
          await t.waitFor(/^STEP /, 60_000, from);
          const delay = rnd.int(100, 3000);
          await sleep(delay);
          p.what = `SIGKILL the trainer ${delay} ms into training`;
          await t.kill();
        } else if (kind === "trainer-in-upload") {
          const nth = rnd.int(1, 3);
          c.profile.setFaults({ seed: opts.seed + index, rules: [{ kind: "latency", operations: "PUT", ms: 40 }] });
          let seen = 0;
          let line = "";
          while (seen < nth) {
            line = await t.waitFor(/^SAVE_BEGIN /, 60_000, t.lines.length);
            seen++;
          }
          const delay = rnd.int(0, 120);
          await sleep(delay);
          p.what = `SIGKILL the trainer ${delay} ms into checkpoint upload #${nth} (${line.slice(11)})`;
          await t.kill();
          c.profile.setFaults({ rules: [] });
        } else if (kind === "trainer-hung-upload") {
          const line = await t.waitFor(/^HANGING /, 60_000, from);
          const delay = rnd.int(0, 500);
          await sleep(delay);
          p.what = `SIGKILL the trainer ${delay} ms after upload #${hangAt} stopped halfway (${line.slice(8)})`;
          await t.kill();
        } else if (kind === "service-mid-checkpoint") {
          c.profile.setFaults({ seed: opts.seed + index, rules: [{ kind: "latency", operations: "PUT", ms: 40 }] });
          await t.waitFor(/^SAVE_BEGIN /, 60_000, t.lines.length);
          const delay = rnd.int(0, 80);
          await sleep(delay);
          await c.service.kill();
          c.profile.setFaults({ rules: [] });
          await sleep(rnd.int(200, 1000));
          await c.service.start();
          // The trainer's save fails (clearly) or, if it finished before the kill, training goes on: stop it either way.
          const ended = await within(t.exited.then(() => true), 15_000, () => false);
          p.what = `SIGKILL the service ${delay} ms into a checkpoint upload, restart it; the trainer ${ended ? "stopped with an error" : "kept training and was SIGKILLed"}`;
          if (ended && !/Unavailable|UNAVAILABLE|cannot reach|O3mlError|Cancelled|Aborted/i.test(t.stderr)) p.failures.push(`the trainer stopped without a clear o3ml error: ${t.stderr.slice(-400)}`);
          await t.kill();
        } else {
          await t.waitFor(/^STEP /, 60_000, from);
          const delay = rnd.int(100, 1500);
          await sleep(delay);
          await c.minio.kill();
          const down = rnd.int(500, 2000);
          await sleep(down);
          await c.minio.start();
          const more = rnd.int(500, 2500);
          const ended = await within(t.exited.then(() => true), more, () => false);
          p.what = `SIGKILL MinIO ${delay} ms into training, restart it ${down} ms later; the trainer ${ended ? "stopped with an error" : `kept training and was SIGKILLed ${more} ms later`}`;
          await t.kill();
        }
        inFlight = t.inFlight();
        pendingResume = { point: p, acknowledged: t.acknowledged() };
        await settle(p, inFlight);
      }
    } catch (err) {
      p.failures.push(`the point could not be carried out: ${(err as Error).message.slice(0, 500)}`);
      await current?.kill();
      c.profile.setFaults({ rules: [] });
      if (!c.service.alive()) await c.service.start().catch(() => undefined);
    }
    p.seconds = (Date.now() - started) / 1000;
    results.push(p);
  }
  // The last crash is proven by one more resume, run to a clean finish.
  if (pendingResume) {
    const top = newest(await live());
    const t = await startTrainer(["--max-steps", String(Number(top?.step ?? 0) + 3)]).catch((e: Error) => {
      pendingResume?.point.failures.push(e.message);
      return undefined;
    });
    if (t) {
      const done = await t.waitFor(/^DONE /, 120_000).catch((e: Error) => (results[results.length - 1]!.failures.push(e.message), ""));
      if (!done) await t.kill();
      await t.exited;
    }
    for (const p of results) p.recovered = p.failures.length === 0;
  }
  } finally {
    await current?.kill();
    await trainers.stop();
    rmSync(datasetInput, { recursive: true, force: true });
  }
  return results;
}

/** `o3ml <args>` in the background, so it can be SIGKILLed mid-way. */
function spawnCli(c: Cluster, args: string[]) {
  const child = tracked(spawn(process.execPath, [CLI, ...args], { env: c.clientEnv(), stdio: ["ignore", "pipe", "pipe"], cwd: REPO_ROOT }));
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on("exit", (code) => {
      appendFileSync(join(c.logDir, "cli.log"), `--- o3ml ${args.join(" ")} -> ${code ?? "killed"}\n${stdout}\n${stderr}\n`);
      resolve({ code, stderr });
    }),
  );
  return { exited, kill: () => child.kill("SIGKILL"), running: () => child.exitCode === null && child.signalCode === null };
}
