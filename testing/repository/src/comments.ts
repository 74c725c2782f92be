import ts from "typescript";

/** A piece of a file's text: a comment, a docstring, or a whole Markdown page. */
export interface Span {
  /** Offset of the first character in the file. */
  start: number;
  text: string;
}

/** The comments of a TypeScript or JavaScript file, found by the TypeScript parser (so `//` in strings and regular expressions is not one). */
export function scriptComments(fileName: string, text: string): Span[] {
  const kind = /\.[cm]?ts$/.test(fileName) ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, kind);
  const spans = new Map<number, Span>();
  const add = (ranges: ts.CommentRange[] | undefined) => {
    for (const r of ranges ?? []) spans.set(r.pos, { start: r.pos, text: text.slice(r.pos, r.end) });
  };
  // Tokens as well as nodes: a comment before a closing brace belongs to the brace.
  const visit = (node: ts.Node) => {
    add(ts.getLeadingCommentRanges(text, node.pos));
    add(ts.getTrailingCommentRanges(text, node.end));
    for (const child of node.getChildren(file)) visit(child);
  };
  visit(file);
  return [...spans.values()];
}

/** The `#` comments and the triple-quoted strings (docstrings) of a Python file. */
export function pythonComments(text: string): Span[] {
  const spans: Span[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "#") {
      const end = lineEnd(text, i);
      spans.push({ start: i, text: text.slice(i, end) });
      i = end;
    } else if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const close = triple ? c.repeat(3) : c;
      let j = i + close.length;
      while (j < text.length && !text.startsWith(close, j) && (triple || text[j] !== "\n")) j += text[j] === "\\" ? 2 : 1;
      if (triple) spans.push({ start: i, text: text.slice(i, j) });
      i = j + close.length;
    } else i++;
  }
  return spans;
}

/** The comments of a shell script: from a `#` that starts a word, outside quotes, to the end of its line. */
export function shellComments(text: string): Span[] {
  const spans: Span[] = [];
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "\\") i++;
    else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) {
      const end = lineEnd(text, i);
      spans.push({ start: i, text: text.slice(i, end) });
      i = end;
    }
  }
  return spans;
}

function lineEnd(text: string, from: number): number {
  const end = text.indexOf("\n", from);
  return end < 0 ? text.length : end;
}
