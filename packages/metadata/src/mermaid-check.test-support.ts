/**
 * A structural reader of the Mermaid subset the renderer writes: a
 * `graph TD` header, quoted node declarations, labelled edges, a class line.
 * Any other line fails. It checks what makes Mermaid reject a diagram or
 * draw the wrong one: an unterminated or markup-bearing label, an edge to an
 * undeclared node.
 */
export function parseMermaid(text: string): { nodes: Map<string, string>; edges: [string, string, string][] } {
  const lines = text.trimEnd().split("\n");
  if (lines[0] !== "graph TD") throw new Error(`first line is not "graph TD": ${lines[0]}`);
  const nodes = new Map<string, string>();
  const edges: [string, string, string][] = [];
  for (const line of lines.slice(1)) {
    let m: RegExpExecArray | null;
    if ((m = /^ {2}(n\d+)\["([^"]*)"\]$/.exec(line))) {
      if (nodes.has(m[1]!)) throw new Error(`node ${m[1]} declared twice`);
      if (/[<>`[\]{}()|&]/.test(m[2]!)) throw new Error(`unescaped markup in label: ${m[2]}`);
      nodes.set(m[1]!, decodeEntities(m[2]!));
    } else if ((m = /^ {2}(n\d+) -->\|([^|"]*)\| (n\d+)$/.exec(line))) {
      for (const end of [m[1]!, m[3]!]) if (!nodes.has(end)) throw new Error(`edge references undeclared node ${end}`);
      edges.push([m[1]!, decodeEntities(m[2]!), m[3]!]);
    } else if (!/^ {2}classDef focus [a-z-]+:[0-9a-z]+$/.test(line) && !/^ {2}class n\d+ focus$/.test(line)) {
      throw new Error(`line Mermaid would not read as meant: ${line}`);
    }
  }
  return { nodes, edges };
}

function decodeEntities(label: string): string {
  if (/#(?!\d+;)/.test(label)) throw new Error(`bare # in label: ${label}`);
  return label.replace(/#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)));
}

