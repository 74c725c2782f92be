import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { StagingArea } from "./staging-area.js";

const areas: StagingArea[] = [];
afterEach(() => areas.splice(0).forEach((a) => a.close()));

async function open(): Promise<StagingArea> {
  const area = await StagingArea.open(mkdtempSync(join(tmpdir(), "o3ml-staging-")));
  areas.push(area);
  return area;
}

/** The id of a process that has exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());
}

describe("StagingArea", () => {
  it("is a directory only its user can enter", async () => {
    const area = await open();
    expect(statSync(area.dir).mode & 0o777).toBe(0o700);
  });

  it("answers a handshake only with the challenge it wrote and the answer file the client wrote", async () => {
    const area = await open();
    const { probe, challenge } = await area.challenge();
    expect(await readFile(join(area.dir, probe))).toEqual(challenge);
    const answer = randomBytes(32);
    writeFileSync(join(area.dir, `${probe}.answer`), answer);
    expect(await area.answer(probe, challenge, answer)).toBe(true);
    expect(readdirSync(area.dir)).toEqual([]);
    // Once only, and never with a wrong challenge or answer.
    expect(await area.answer(probe, challenge, answer)).toBe(false);
    const second = await area.challenge();
    writeFileSync(join(area.dir, `${second.probe}.answer`), answer);
    expect(await area.answer(second.probe, randomBytes(32), answer)).toBe(false);
    const third = await area.challenge();
    writeFileSync(join(area.dir, `${third.probe}.answer`), answer);
    expect(await area.answer(third.probe, third.challenge, randomBytes(32))).toBe(false);
    await expect(area.answer("../etc/passwd", challenge, answer)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("opens only regular staged files of its own, by name, never through a link", async () => {
    const area = await open();
    const name = `${process.pid}-${"ab".repeat(8)}.stage`;
    writeFileSync(join(area.dir, name), "bytes");
    const f = await area.openStaged(name, "save x");
    expect((await f.readFile()).toString()).toBe("bytes");
    await f.close();
    for (const bad of ["../x.stage", "x.stage", `${process.pid}-zz.stage`, `/${name}`, `${name}/..`]) {
      await expect(area.openStaged(bad, "save x")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    const secret = join(mkdtempSync(join(tmpdir(), "o3ml-secret-")), "secret");
    writeFileSync(secret, "not for the bucket");
    const link = `${process.pid}-${"cd".repeat(8)}.stage`;
    symlinkSync(secret, join(area.dir, link));
    await expect(area.openStaged(link, "save x")).rejects.toThrow(/symbolic link/);
    await expect(area.openStaged(`${process.pid}-${"ef".repeat(8)}.stage`, "save x")).rejects.toThrow(/does not exist/);
  });

  it("sweeps staged files whose writer died, and old probes, and keeps the rest", async () => {
    const area = await open();
    const dead = `${deadPid()}-${"01".repeat(8)}.stage`;
    const live = `${process.pid}-${"02".repeat(8)}.stage`;
    const probe = `probe-${"03".repeat(16)}`;
    for (const n of [dead, live, probe]) writeFileSync(join(area.dir, n), "x");
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(join(area.dir, probe), old, old);
    expect(await area.sweep()).toBe(2);
    expect(readdirSync(area.dir)).toEqual([live]);
  });
});
