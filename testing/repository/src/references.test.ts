import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pythonComments, scriptComments, shellComments, type Span } from "./comments.js";
import { linkTargets, rootPaths, type Reference } from "./path-references.js";
import { ignoredByGit, REPO_ROOT, trackedFiles } from "./tracked-files.js";

/**
 * References in code and docs point only at files of this repository.
 *
 * Read: the comments of every tracked TypeScript and JavaScript file (*.ts,
 * *.js and their .mts/.cts/.mjs/.cjs kin), the comments and docstrings of
 * *.py, the comments of *.sh, and every tracked *.md page whole.
 * Generated code (folders named gen/) is not ours to word, and is not read.
 * A reference is
 * - a path from the repository root whose first segment is a top-level entry
 *   of the repository (`docs/setup.md`, `services/storage/src/server.ts`,
 *   `testing/standin/`), in comments and anywhere in a Markdown page; the rules
 *   that keep URLs, package names, bucket keys and patterns out are in
 *   path-references.ts;
 * - the target of a Markdown link, resolved against the page's folder.
 * It dangles when no tracked file is at that path or under it. A path git
 * ignores (`.venv/`, `dist/`, scratch folders) names something made at run
 * time, not a file of the repository, and is not checked. A new file counts
 * once it is added to git.
 */
const files = trackedFiles();
const tracked = new Set(files);
const folders = new Set(files.flatMap((f) => f.split("/").slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join("/"))));
const topLevel = new Set(files.map((f) => f.split("/")[0]!));

function referencesOf(file: string, text: string): Reference[] {
  if (file.endsWith(".md")) return [...rootPaths([{ start: 0, text }], topLevel), ...linkTargets(file, text)];
  let comments: Span[];
  if (file.endsWith(".py")) comments = pythonComments(text);
  else if (file.endsWith(".sh")) comments = shellComments(text);
  else comments = scriptComments(file, text);
  return rootPaths(comments, topLevel);
}

const READ = /\.([cm]?[jt]s|py|sh|md)$/;
const GENERATED = /(^|\/)gen\//;

function lineOf(text: string, at: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < at; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

describe("references in code and docs", () => {
  it("point only at files of this repository", () => {
    const missing: { where: string; target: string }[] = [];
    let checked = 0;
    for (const file of files.filter((f) => READ.test(f) && !GENERATED.test(f))) {
      const text = readFileSync(join(REPO_ROOT, file), "utf8");
      for (const ref of referencesOf(file, text)) {
        checked++;
        if (!tracked.has(ref.target) && !folders.has(ref.target)) missing.push({ where: `${file}:${lineOf(text, ref.at)}`, target: ref.target });
      }
    }
    const ignored = ignoredByGit([...new Set(missing.map((m) => m.target))]);
    const dangling = missing.filter((m) => !ignored.has(m.target)).map((m) => `${m.where}: ${m.target} is not a file or folder of the repository`);
    expect(dangling).toEqual([]);
    // A rule that found no references would pass on any tree; this repository has over 250.
    expect(checked).toBeGreaterThan(200);
  });
});

describe("what counts as a reference", () => {
  const topLevel = new Set(["docs", "packages", "README.md"]);
  const targets = (text: string) => rootPaths([{ start: 0, text }], topLevel).map((r) => r.target);

  it("is a path from the repository root, trailing punctuation and slash aside", () => {
    expect(targets("see docs/setup.md. Also (packages/cli/src/main.ts), `packages/cache/` and docs/x.md:12")).toEqual([
      "docs/setup.md",
      "packages/cli/src/main.ts",
      "packages/cache",
      "docs/x.md",
    ]);
  });

  it("is not a URL, a package name, a path under another root, a pattern or a placeholder", () => {
    expect(
      targets(
        "https://github.com/o/r/blob/main/docs/setup.md @o3ml/cli node_modules/@o3ml/cli/dist ~/x/docs/a ${ROOT}/docs/a " +
          "o3ml/v1/blobs/<cid> packages/*/src docs/reliability.{md,json} packages/<name>/README.md lightning/pytorch/x.py README.md",
      ),
    ).toEqual([]);
  });

  it("finds Markdown link targets relative to the page, outside code", () => {
    const page = "[setup](setup.md) [home](../README.md#layout) [web](https://x.org/a.md) [here](#top) [root](/docs/a.md)\n" +
      "[def]: other.md\n`f[0](x)`\n```ts\nhandlers[kind](req);\n```\n";
    expect(linkTargets("docs/page.md", page).map((r) => r.target)).toEqual(["docs/setup.md", "README.md", "docs/a.md", "docs/other.md"]);
  });

  it("reads comments only, not strings or regular expressions, in scripts", () => {
    const ts = 'const a = "docs/in-string.md"; // docs/comment.md\nconst r = /\\/\\/ docs\\/regex.md/;\n/* packages/block.ts */\nfunction f() {\n  // docs/before-brace.md\n}\n';
    expect(rootPaths(scriptComments("x.ts", ts), topLevel).map((r) => r.target)).toEqual(["docs/comment.md", "packages/block.ts", "docs/before-brace.md"]);
    const py = 'x = "docs/in-string.md"  # docs/comment.md\n"""docs/docstring.md"""\ny = \'# docs/not-a-comment.md\'\n';
    expect(rootPaths(pythonComments(py), topLevel).map((r) => r.target)).toEqual(["docs/comment.md", "docs/docstring.md"]);
    const sh = 'echo "# docs/in-string.md" $# # docs/comment.md\n# packages/whole-line.sh\n';
    expect(rootPaths(shellComments(sh), topLevel).map((r) => r.target)).toEqual(["docs/comment.md", "packages/whole-line.sh"]);
  });
});
