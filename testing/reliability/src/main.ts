import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopSuiteOnSignals, stopWhenLauncherEnds } from "./children.js";
import { REPO_ROOT } from "./cluster.js";
import { renderReport } from "./report.js";
import { runSharedBucketGc } from "./shared-bucket-gc.js";
import { runSuite } from "./suite.js";

/**
 * Entry of `npm run test:reliability` (scripts/reliability.sh):
 *   npx tsx testing/reliability/src/main.ts [--quick] [--seed N]
 * The full profile writes docs/reliability.{md,json}; --quick writes nothing;
 * --render-only rewrites docs/reliability.md from docs/reliability.json;
 * --shared-bucket-gc runs only the several-writers gc scenario (writes nothing).
 * Exits 1 when an acceptance criterion is not met.
 */
const say = (l: string) => process.stderr.write(`${l}\n`);
stopSuiteOnSignals(say);
stopWhenLauncherEnds(say);
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const seedAt = args.indexOf("--seed");
const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : 20261128;

if (args.includes("--shared-bucket-gc")) {
  // Only the several-writers gc scenario of the full profile; writes no docs.
  const root = mkdtempSync(join(tmpdir(), "o3ml-shared-gc-"));
  const r = await runSharedBucketGc({ root, seconds: 60, graceSeconds: 3, log: (l) => process.stderr.write(`${l}\n`) });
  rmSync(root, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  process.exit(r.lost.length === 0 && r.kept > 0 && r.blobsCollected > 0 ? 0 : 1);
}

if (args.includes("--render-only")) {
  const saved = JSON.parse(readFileSync(join(REPO_ROOT, "docs/reliability.json"), "utf8")) as Parameters<typeof renderReport>[0];
  writeFileSync(join(REPO_ROOT, "docs/reliability.md"), renderReport(saved));
  process.exit(0);
}
const result = await runSuite({ quick, seed, log: (l) => process.stderr.write(`${l}\n`) });
if (!quick) {
  // The headline figures also sit at the top level, where readers of the file look first.
  writeFileSync(join(REPO_ROOT, "docs/reliability.json"), `${JSON.stringify({ ...result.summary, ...result }, null, 2)}\n`);
  writeFileSync(join(REPO_ROOT, "docs/reliability.md"), renderReport(result));
}
process.stdout.write(`${JSON.stringify(result.summary, null, 2)}\n`);
const failed = Object.entries(result.acceptance).filter(([, ok]) => !ok);
for (const x of result.hostile.filter((h) => !h.handled)) process.stderr.write(`[reliability] hostile input not handled: ${x.group} / ${x.name}: ${x.detail}\n`);
for (const x of result.crashes.filter((p) => !p.recovered)) process.stderr.write(`[reliability] crash point ${x.index} (${x.kind}) not recovered: ${x.failures.join("; ")}\n`);
if (failed.length) {
  process.stderr.write(`[reliability] not met: ${failed.map(([k]) => k).join(", ")}; logs kept in ${result.environment.logs}\n`);
  process.exitCode = 1;
}
