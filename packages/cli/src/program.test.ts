import { describe, expect, it, vi } from "vitest";
import { commandPath, leafCommands } from "./command-tree.js";
import { buildProgram } from "./program.js";

/**
 * The seam packages/o3ml composes the `o3ml` program at: the client commands
 * alone, and with the server's commands and offline rebuild added.
 */
describe("buildProgram", () => {
  it("builds the client commands alone, each taking --service, and no serve", () => {
    const program = buildProgram();
    const names = program.commands.map((c) => c.name());
    expect(names).toEqual(expect.arrayContaining(["put", "get", "ls", "runs", "lineage", "index", "dataset", "ckpt", "verify", "du", "gc", "health"]));
    expect(names).not.toContain("serve");
    const withoutService = leafCommands(program).filter((c) => !c.options.some((o) => o.long === "--service"));
    expect(withoutService.map(commandPath)).toEqual([]);
  });

  it("puts the server's commands first, without --service, and runs the offline rebuild it is given", async () => {
    const seen: string[] = [];
    const program = buildProgram({
      registerServerCommands: (p) => {
        p.command("serve").option("--listen <address>").action(() => {});
      },
      rebuildIndexOffline: async (warn) => {
        seen.push("rebuilt");
        warn("one log object skipped");
        return { objects: 2, skipped: 1, unlanded: 1, counts: { events: 1, runs: 1, datasets: 0, datasetVersions: 0, checkpoints: 0, artifacts: 0, edges: 0 }, durationMs: 5, location: "index.sqlite", source: "store/bucket" };
      },
    });
    expect(program.commands[0]!.name()).toBe("serve");
    expect(program.commands[0]!.options.map((o) => o.long)).toEqual(["--listen"]);
    const printed: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => (printed.push(String(chunk)), true));
    try {
      await program.parseAsync(["node", "o3ml", "index", "rebuild", "--offline", "--json"]);
      await program.parseAsync(["node", "o3ml", "index", "rebuild", "--offline"]);
    } finally {
      write.mockRestore();
    }
    expect(seen).toEqual(["rebuilt", "rebuilt"]);
    expect(process.exitCode ?? 0).toBe(0);
    // What a stopped commit left behind is reported, in JSON and in words.
    expect(JSON.parse(printed[0]!)).toMatchObject({ unlanded: 1, skipped: 1, offline: true });
    expect(printed.join("")).toContain("1 left out as commits stopped before their ref");
  });
});
