import type { LineageEdge, LineageGraph, LineageNode } from "./lineage.js";

/**
 * Renderings of a lineage graph for `o3ml lineage --format …`:
 *   text     an indented tree, upstream then downstream of the focus
 *   mermaid  a `graph TD` flowchart (node ids n0, n1…; labels entity-escaped)
 *   dot      a Graphviz digraph
 *   json     the graph itself: { focus, nodes, edges }, stably ordered
 */
export type LineageFormat = "text" | "mermaid" | "dot" | "json";

export const LINEAGE_FORMATS: readonly LineageFormat[] = ["text", "mermaid", "dot", "json"];

export function renderLineage(graph: LineageGraph, format: LineageFormat): string {
  switch (format) {
    case "text":
      return renderText(graph);
    case "mermaid":
      return renderMermaid(graph);
    case "dot":
      return renderDot(graph);
    case "json":
      return `${JSON.stringify(graph, null, 2)}\n`;
  }
}

/** A node as one line: its label and its own id, which is what a user copies into the next command. */
export function nodeTitle(node: LineageNode): string {
  return `${node.label} · ${node.ref}`;
}

export function renderText(graph: LineageGraph): string {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const title = (id: string) => (byId.get(id) ? nodeTitle(byId.get(id)!) : id);
  const lines = [title(graph.focus)];
  const sections: [string, (id: string) => [LineageEdge, string][]][] = [
    ["upstream", (id) => graph.edges.filter((e) => e.to === id).map((e) => [e, e.from])],
    ["downstream", (id) => graph.edges.filter((e) => e.from === id).map((e) => [e, e.to])],
  ];
  sections.forEach(([name, next], s) => {
    const lastSection = s === sections.length - 1;
    lines.push(`${lastSection ? "└─" : "├─"} ${name}`);
    // A DAG reaches some nodes by several paths (a run above each of its
    // checkpoints). Each node is expanded once, under the parent that first
    // reaches it breadth-first, i.e. at its shortest distance from the focus;
    // elsewhere it is a one-line reference.
    const expandUnder = new Map<string, string>();
    const queue = [graph.focus];
    const placed = new Set(queue);
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      for (const [, child] of next(id)) {
        if (placed.has(child)) continue;
        placed.add(child);
        expandUnder.set(child, id);
        queue.push(child);
      }
    }
    const printed = new Set([graph.focus]);
    const walk = (id: string, indent: string) => {
      const children = next(id);
      children.forEach(([edge, child], i) => {
        const last = i === children.length - 1;
        const expand = expandUnder.get(child) === id && !printed.has(child);
        const note = expand ? "" : printed.has(child) ? " (shown above)" : " (shown below)";
        lines.push(`${indent}${last ? "└─" : "├─"} ${edge.relation}: ${title(child)}${note}`);
        if (!expand) return;
        printed.add(child);
        walk(child, indent + (last ? "   " : "│  "));
      });
    };
    const base = lastSection ? "   " : "│  ";
    if (next(graph.focus).length === 0) lines.push(`${base}└─ (none)`);
    else walk(graph.focus, base);
  });
  return `${lines.join("\n")}\n`;
}

export function renderMermaid(graph: LineageGraph): string {
  const ids = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]));
  const lines = ["graph TD"];
  for (const n of graph.nodes) lines.push(`  ${ids.get(n.id)}["${escapeMermaid(nodeTitle(n))}"]`);
  for (const e of graph.edges) lines.push(`  ${ids.get(e.from)} -->|${escapeMermaid(e.relation)}| ${ids.get(e.to)}`);
  const focus = ids.get(graph.focus);
  if (focus) lines.push("  classDef focus stroke-width:3px", `  class ${focus} focus`);
  return `${lines.join("\n")}\n`;
}

/**
 * Mermaid labels are double-quoted strings in which `"` ends the string and
 * `#…;` starts an entity; markup characters are escaped too, so every
 * character of an id or a run name reaches the rendered label as typed.
 */
export function escapeMermaid(text: string): string {
  return text.replace(/[#"<>&`|[\]{}()]/g, (ch) => `#${ch.charCodeAt(0)};`);
}

export function renderDot(graph: LineageGraph): string {
  const lines = ["digraph lineage {", "  rankdir=TB;", "  node [shape=box];"];
  for (const n of graph.nodes) {
    const style = n.id === graph.focus ? ", penwidth=3" : n.known ? "" : ", style=dashed";
    lines.push(`  ${dotString(n.id)} [label=${dotString(nodeTitle(n))}${style}];`);
  }
  for (const e of graph.edges) lines.push(`  ${dotString(e.from)} -> ${dotString(e.to)} [label=${dotString(e.relation)}];`);
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

function dotString(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
