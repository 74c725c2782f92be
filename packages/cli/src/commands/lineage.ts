import { Option, type Command } from "commander";
import { O3mlError } from "@o3ml/errors";
import { DatasetClient, type MetadataClient, type RunRecord } from "@o3ml/client";
import { datasetVersions, runNames } from "../known-names.js";
import { withMetadataClient } from "../metadata-action.js";
import { suggestingNames } from "../name-suggestions.js";
import { objectKey } from "../o3-url.js";

/** The renderings the service offers (it checks the name too). */
const FORMATS = ["text", "mermaid", "dot", "json"];

interface LineageOpts {
  format: string;
  depth: string;
}

interface GraphJson {
  nodes: { kind: string; ref: string; known: boolean }[];
}

/** `o3ml lineage <id>`: where a run, checkpoint or dataset version came from, and what came of it. */
export function registerLineage(program: Command): void {
  program
    .command("lineage <id>")
    .description(
      "show what produced a run, checkpoint (id, key or o3://bucket/key), artifact or dataset version (name@version, or a manifest CID) and what came of it: " +
        "dataset versions, runs, parent checkpoints; the text form ends with each run's code commit, hyperparameters and environment",
    )
    .addOption(new Option("--format <format>", "text (a tree), mermaid, dot (Graphviz) or json").choices(FORMATS).default("text"))
    .option("--depth <hops>", "follow at most this many edges upstream and downstream, or all of them", "1")
    .action(withMetadataClient((_id: string, o: LineageOpts) => o.format === "json", async (c, given: string, o: LineageOpts) => {
      // The service takes 0 for the whole graph.
      const depth = o.depth === "all" ? 0 : Number(o.depth);
      if (o.depth !== "all" && (!Number.isSafeInteger(depth) || depth < 1)) {
        throw new O3mlError("INVALID_ARGUMENT", `--depth ${o.depth}: give a whole number of edges, 1 or more, or all`);
      }
      const id = objectKey(given, c.address);
      const { rendered } = await suggestingNames(id, () => lineageNames(c), () => c.lineage(id, o.format, depth));
      process.stdout.write(rendered);
      if (o.format === "text") process.stdout.write(await runDetails(c, id, depth));
    }));
}

/** Run names and dataset versions, the names lineage takes (besides ids and keys). */
async function lineageNames(c: MetadataClient): Promise<string[]> {
  const datasets = new DatasetClient(c.address);
  try {
    return [...runNames(await c.listRuns()), ...datasetVersions(await datasets.list())];
  } finally {
    datasets.close();
  }
}

/** What the tree leaves out: how each run in it was set up (the graph names runs only). */
async function runDetails(c: MetadataClient, id: string, depth: number): Promise<string> {
  const graph = JSON.parse((await c.lineage(id, "json", depth)).rendered) as GraphJson;
  const runs: RunRecord[] = [];
  for (const n of graph.nodes) if (n.kind === "run" && n.known) runs.push(await c.getRun(n.ref));
  if (runs.length === 0) return "";
  const lines = ["", "runs"];
  for (const r of runs) {
    const commit = r.codeCommit ? `${r.codeCommit}${r.codeDirty ? " (with uncommitted changes)" : r.codeDirty === false ? " (clean)" : ""}` : "unknown";
    const packages = Object.entries(r.packages).map(([name, version]) => `${name} ${version}`).join(", ");
    lines.push(
      `  ${r.name} · ${r.id}`,
      `    code commit      ${commit}`,
      `    hyperparameters  ${JSON.stringify(r.hyperparameters)}`,
      `    environment      ${packages || "(no packages recorded)"}${r.host ? ` on ${r.host}` : ""}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
