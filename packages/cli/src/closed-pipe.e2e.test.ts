import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, o3ml, seedHistory, startServe, type Served } from "./cli.test-support.js";

/**
 * `o3ml … | head`: when the reader of the output goes away, the command
 * stops quietly with exit code 0, whatever it was writing.
 */
describe("o3ml writing into a closed pipe", { timeout: 240_000 }, () => {
  let served: Served;

  /** Runs `o3ml ...args` with its stdout a pipe whose reading end is closed before the command starts. */
  const intoClosedPipe = (args: string[]) =>
    new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: served.env(), stdio: ["ignore", "pipe", "pipe"] });
      child.stdout.destroy();
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (code, signal) => resolve({ code, signal, stderr }));
    });

  beforeAll(async () => {
    served = await startServe();
    await seedHistory(served);
    const big = join(mkdtempSync(join(tmpdir(), "o3ml-pipe-")), "big.bin");
    writeFileSync(big, randomBytes(3 * 1024 * 1024));
    const put = await o3ml(["put", big, "big.bin"], served.env());
    expect(put.code, put.stderr).toBe(0);
  });
  afterAll(async () => {
    await served?.stop();
  });

  it("exits 0 with nothing on stderr, for text, JSON and streamed bytes", async () => {
    for (const args of [["lineage", "mnist-baseline"], ["lineage", "mnist-baseline", "--format", "json"], ["runs", "ls"], ["ckpt", "ls", "--json"], ["ls"], ["get", "big.bin"], ["--help"]]) {
      expect(await intoClosedPipe(args), args.join(" ")).toEqual({ code: 0, signal: null, stderr: "" });
    }
  });

  it("ends a shell pipeline into head cleanly, even under pipefail", async () => {
    const script = `set -o pipefail; "${process.execPath}" "${BIN}" get big.bin | head -c 10 | wc -c`;
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile("bash", ["-c", script], { env: served.env() }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
    );
    expect(r).toEqual({ code: 0, stdout: "10\n", stderr: "" });
  });
});
