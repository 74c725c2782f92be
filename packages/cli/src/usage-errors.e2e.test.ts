import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanEnv, o3ml } from "./cli.test-support.js";

/** A command line the o3ml command cannot take: one short error and where the usage is, exit code 2. */
describe("o3ml with a mistyped command line", () => {
  const env = cleanEnv(mkdtempSync(join(tmpdir(), "o3ml-usage-")));

  it("an unknown option, command or value: the error, a pointer to --help, exit 2", async () => {
    const cases: [string[], string][] = [
      [["ls", "--bogus"], "error: unknown option '--bogus'\nrun 'o3ml ls --help' for its usage\n"],
      [["bogus"], "error: unknown command 'bogus'\nrun 'o3ml --help' for its usage\n"],
      [["ckpt", "lss"], "error: unknown command 'lss'\n(Did you mean ls?)\nrun 'o3ml ckpt --help' for its usage\n"],
      [["ckpt", "ls", "--jsn"], "error: unknown option '--jsn'\n(Did you mean --json?)\nrun 'o3ml ckpt ls --help' for its usage\n"],
      [["lineage", "x", "--format", "svg"], "error: option '--format <format>' argument 'svg' is invalid. Allowed choices are text, mermaid, dot, json.\nrun 'o3ml lineage --help' for its usage\n"],
      [["stat"], "error: missing required argument 'key'\nrun 'o3ml stat --help' for its usage\n"],
      [["runs", "ls", "extra"], "error: too many arguments for 'ls'. Expected 0 arguments but got 1.\nrun 'o3ml runs ls --help' for its usage\n"],
    ];
    for (const [args, stderr] of cases) {
      const r = await o3ml(args, env);
      expect(r, args.join(" ")).toEqual({ code: 2, stdout: "", stderr });
    }
  });

  it("asking for help or the version still succeeds", async () => {
    const help = await o3ml(["ckpt", "ls", "--help"], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: o3ml ckpt ls [options]");
    expect(await o3ml(["--version"], env)).toEqual({ code: 0, stdout: "0.1.0\n", stderr: "" });
  });
});
