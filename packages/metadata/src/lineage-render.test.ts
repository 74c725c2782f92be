import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { LineageGraph, LineageNode } from "./lineage.js";
import { nodeTitle, renderDot, renderLineage, renderMermaid, renderText } from "./lineage-render.js";
import { parseMermaid } from "./mermaid-check.test-support.js";

function node(kind: LineageNode["kind"], ref: string, label: string, known = true): LineageNode {
  return { id: `${kind}:${ref}`, kind, ref, label, known };
}

const hostile = 'run "a" #1 <b>x</b> [c|d] {e} (f) `g` & \\ ; -->|x| n0["y"]';
const graph: LineageGraph = {
  focus: "checkpoint:c2",
  nodes: [
    node("checkpoint", "c1", "checkpoint step 1 (epoch 0, durable)"),
    node("checkpoint", "c2", "checkpoint step 2 (epoch 0, committed)"),
    node("checkpoint", "c3", "checkpoint step 3 (epoch 1, committed)"),
    node("dataset-version", "bafyd1", "dataset mnist@01J"),
    node("run", 'r"1', hostile),
    node("artifact", "a1", "artifact (not in index)", false),
  ],
  edges: [
    { from: "checkpoint:c1", to: "checkpoint:c2", relation: "parent" },
    { from: "checkpoint:c2", to: "checkpoint:c3", relation: "parent" },
    { from: "checkpoint:c3", to: "artifact:a1", relation: "derived" },
    { from: "dataset-version:bafyd1", to: "checkpoint:c1", relation: "trained-on" },
    { from: "dataset-version:bafyd1", to: "checkpoint:c2", relation: "trained-on" },
    { from: 'run:r"1', to: "checkpoint:c1", relation: "produced" },
    { from: 'run:r"1', to: "checkpoint:c2", relation: "produced" },
  ],
};

describe("lineage renderings", () => {
  it("mermaid: declares every node, escapes every label, and references only declared nodes", () => {
    const { nodes, edges } = parseMermaid(renderMermaid(graph));
    expect([...nodes.values()]).toEqual(graph.nodes.map(nodeTitle));
    expect(edges).toHaveLength(graph.edges.length);
    const titleOf = (n: string) => nodes.get(n)!;
    expect(edges.map(([a, r, b]) => [titleOf(a), r, titleOf(b)])).toContainEqual([nodeTitle(graph.nodes[4]!), "produced", nodeTitle(graph.nodes[1]!)]);
  });

  it("mermaid: any printable label survives the escaping unchanged", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s)), (label) => {
        const g: LineageGraph = { focus: "run:x", nodes: [node("run", "x", label), node("checkpoint", label || "c", "c")], edges: [{ from: "run:x", to: `checkpoint:${label || "c"}`, relation: "produced" }] };
        const parsed = parseMermaid(renderMermaid(g));
        expect(parsed.nodes.get("n0")).toBe(nodeTitle(g.nodes[0]!));
        expect(parsed.nodes.get("n1")).toBe(nodeTitle(g.nodes[1]!));
      }),
      { numRuns: 300 },
    );
  });

  it("dot: quotes ids and labels so they read back unchanged", () => {
    const dot = renderDot(graph);
    expect(dot.startsWith("digraph lineage {")).toBe(true);
    expect(dot.trimEnd().endsWith("}")).toBe(true);
    const quoted = /"((?:[^"\\]|\\.)*)"/g;
    const strings = [...dot.matchAll(quoted)].map((m) => m[1]!.replace(/\\(.)/g, "$1"));
    expect(strings).toContain(hostile + ' · r"1');
    expect(strings).toContain('run:r"1');
    expect(dot).toContain("style=dashed"); // the node the index does not know
  });

  it("text: a tree upstream and downstream, each node expanded once, nearest the focus", () => {
    const run = `${hostile} · r"1`;
    expect(renderText(graph)).toBe(
      [
        "checkpoint step 2 (epoch 0, committed) · c2",
        "├─ upstream",
        "│  ├─ parent: checkpoint step 1 (epoch 0, durable) · c1",
        "│  │  ├─ trained-on: dataset mnist@01J · bafyd1 (shown below)",
        `│  │  └─ produced: ${run} (shown below)`,
        "│  ├─ trained-on: dataset mnist@01J · bafyd1",
        `│  └─ produced: ${run}`,
        "└─ downstream",
        "   └─ parent: checkpoint step 3 (epoch 1, committed) · c3",
        "      └─ derived: artifact (not in index) · a1",
        "",
      ].join("\n"),
    );
    const lonely = renderText({ focus: "run:x", nodes: [node("run", "x", "run x")], edges: [] });
    expect(lonely).toBe("run x · x\n├─ upstream\n│  └─ (none)\n└─ downstream\n   └─ (none)\n");
  });

  it("json: the graph itself", () => {
    expect(JSON.parse(renderLineage(graph, "json"))).toEqual(graph);
  });
});
