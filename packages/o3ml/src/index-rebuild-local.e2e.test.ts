import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanEnv, o3ml, seedHistory, startServe, type Served } from "../../cli/src/cli.test-support.js";

/**
 * `o3ml index rebuild --offline` with no O3ML_ENDPOINT: it reads the folder
 * `o3ml serve` kept its data in (`$O3ML_HOME/store`), so an index lost while
 * no service runs comes back from that folder alone.
 */
describe("index rebuild --offline over the default local store", { timeout: 180_000 }, () => {
  const running: Served[] = [];
  const folders: string[] = [];
  afterAll(async () => {
    for (const s of running) await s.stop();
    for (const f of [...folders, ...running.map((s) => s.home)]) rmSync(f, { recursive: true, force: true });
  });

  it("recreates a deleted index from O3ML_HOME/store, and the restarted service lists the same runs", async () => {
    let s = await startServe();
    running.push(s);
    const history = await seedHistory(s);
    const before = await o3ml(["runs", "ls", "--json"], s.env());
    expect(before.code, before.stderr).toBe(0);
    await s.stop();

    const index = join(s.home, "index.sqlite");
    expect(existsSync(index)).toBe(true);
    for (const f of ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"]) rmSync(join(s.home, f), { force: true });

    const r = await o3ml(["index", "rebuild", "--offline", "--json"], cleanEnv(s.home));
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { offline: boolean; source: string; location: string; counts: Record<string, number> };
    expect(out).toMatchObject({ offline: true, counts: { runs: 2, checkpoints: 2, datasets: 1 } });
    expect(out.source).toBe(`file://${join(s.home, "store")}/${s.bucket}`);
    expect(out.location).toContain(s.home);

    s = await startServe([], {}, s.home);
    running.push(s);
    const after = await o3ml(["runs", "ls", "--json"], s.env());
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout)).toEqual(JSON.parse(before.stdout));
    const shown = await o3ml(["runs", "show", history.baselineId, "--json"], s.env());
    expect(shown.code, shown.stderr).toBe(0);
  });

  it("names the folder it looked for when O3ML_HOME holds no store", async () => {
    const home = mkdtempSync(join(tmpdir(), "o3ml-rebuild-nostore-"));
    folders.push(home);
    const r = await o3ml(["index", "rebuild", "--offline"], cleanEnv(home));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("FAILED_PRECONDITION");
    expect(r.stderr).toContain(join(home, "store", "o3ml"));
    expect(r.stderr).toContain("O3ML_ENDPOINT is not set");
  });
});
