import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Capabilities } from "./blob-store.js";
import { cachedCapabilities, defaultProbeDir, forgetCapabilities } from "./probe-cache.js";

const caps = (probedAt = new Date().toISOString()): Capabilities => ({
  rangeGet: true,
  listPagination: true,
  listStartAfter: true,
  conditionalPut: false,
  networkHeaders: true,
  versioning: true,
  probedAt,
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "o3ml-probe-cache-"));
  forgetCapabilities();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("cachedCapabilities", () => {
  it("probes once per endpoint + bucket, also for concurrent callers, and writes the answer to disk", async () => {
    let probes = 0;
    const probe = async () => {
      probes++;
      return caps();
    };
    const [a, b] = await Promise.all([cachedCapabilities("http://e", "b1", probe, { dir }), cachedCapabilities("http://e", "b1", probe, { dir })]);
    expect(a).toBe(b);
    expect(probes).toBe(1);
    await cachedCapabilities("http://e", "b2", probe, { dir });
    expect(probes).toBe(2);
    const files = readdirSync(dir);
    expect(files.length).toBe(2);
    expect(JSON.parse(readFileSync(join(dir, files[0]!), "utf8"))).toMatchObject({ endpoint: "http://e", capabilities: { rangeGet: true } });
  });

  it("reuses a fresh answer from disk in a new process, and probes again when it is stale", async () => {
    let probes = 0;
    const probe = async () => {
      probes++;
      return caps();
    };
    await cachedCapabilities("http://e", "b", probe, { dir });
    forgetCapabilities();
    await cachedCapabilities("http://e", "b", probe, { dir });
    expect(probes).toBe(1);
    const file = join(dir, readdirSync(dir)[0]!);
    writeFileSync(file, JSON.stringify({ endpoint: "http://e", bucket: "b", capabilities: caps("2000-01-01T00:00:00.000Z") }));
    forgetCapabilities();
    await cachedCapabilities("http://e", "b", probe, { dir });
    expect(probes).toBe(2);
  });

  it("does not remember a failed probe", async () => {
    let calls = 0;
    const flaky = async () => {
      if (++calls === 1) throw new Error("endpoint down");
      return caps();
    };
    await expect(cachedCapabilities("http://e", "b", flaky, { dir: false })).rejects.toThrow("endpoint down");
    expect((await cachedCapabilities("http://e", "b", flaky, { dir: false })).rangeGet).toBe(true);
  });

  it("ignores a corrupt cache file", async () => {
    await cachedCapabilities("http://e", "b", async () => caps(), { dir });
    writeFileSync(join(dir, readdirSync(dir)[0]!), "{not json");
    forgetCapabilities();
    expect((await cachedCapabilities("http://e", "b", async () => caps(), { dir })).versioning).toBe(true);
  });

  it("lives under O3ML_HOME", () => {
    expect(defaultProbeDir({ O3ML_HOME: "/data/o3ml" })).toBe("/data/o3ml/probes");
  });
});
