import { posix } from "node:path";
import type { Span } from "./comments.js";

/** A file or folder of the repository that a text names. */
export interface Reference {
  /** Offset in the file of where the reference is written. */
  at: number;
  /** The path from the repository root, without a trailing slash. */
  target: string;
}

/**
 * Paths written from the repository root, such as `docs/setup.md` or
 * `services/storage/src/server.ts`: at least two segments of letters, digits,
 * `_`, `.` and `-`, the first of which is a top-level entry of the repository
 * (so `o3ml/v1/blobs/…` bucket keys, `@o3ml/cli` package names and `lightning/…`
 * module paths are not read as files). Not one when it is part of a longer
 * path or name (`~/x/docs/a`, `${ROOT}/docs/a`, `node_modules/@o3ml/x`), or
 * when it runs into a pattern or a placeholder (`packages/*`, `docs/reliability.{md,json}`,
 * `examples/<name>`). URLs are left out before anything is read.
 */
const ROOT_PATH = /(?<![\w@.\/\-~$}])[\w.\-]+(?:\/[\w.\-]+)*\/?/g;
const URL = /\b[a-z][a-z\d+.\-]*:\/\/[^\s)>\]"'`]*/gi;
const PATTERN_NEXT = /^[*?{<$[…]/;

export function rootPaths(spans: Span[], topLevel: ReadonlySet<string>): Reference[] {
  const found: Reference[] = [];
  for (const span of spans) {
    const text = span.text.replace(URL, (url) => " ".repeat(url.length));
    for (const m of text.matchAll(ROOT_PATH)) {
      const path = m[0].replace(/[.\-]+$/, "");
      const segments = path.replace(/\/$/, "").split("/");
      if (segments.length < 2 && !path.endsWith("/")) continue;
      if (!topLevel.has(segments[0]!)) continue;
      if (PATTERN_NEXT.test(text.slice(m.index + m[0].length))) continue;
      found.push({ at: span.start + m.index, target: segments.join("/") });
    }
  }
  return found;
}

/**
 * The targets of a Markdown page's links, `[text](target)` and `[label]: target`,
 * resolved against the page's folder as a reader's browser does (a leading `/`
 * is the repository root). Links with a scheme (`https:`, `mailto:`) and links
 * within the page (`#section`) are not files of the repository.
 */
const INLINE_LINK = /\]\(\s*<?([^()\s<>]+)>?(?:\s+["'(][^)]*)?\)/g;
const LINK_DEFINITION = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm;

export function linkTargets(page: string, text: string): Reference[] {
  const found: Reference[] = [];
  const prose = withoutCode(text);
  for (const re of [INLINE_LINK, LINK_DEFINITION]) {
    for (const m of prose.matchAll(re)) {
      const raw = m[1]!;
      if (/^[a-z][a-z\d+.\-]*:/i.test(raw) || raw.startsWith("#")) continue;
      const path = decodeURIComponent(raw.replace(/[#?].*$/, ""));
      const target = path.startsWith("/") ? path.slice(1) : posix.join(posix.dirname(page), path);
      found.push({ at: m.index + m[0].indexOf(raw), target: posix.normalize(target).replace(/\/$/, "") });
    }
  }
  return found;
}

/** The page with its code blocks and code spans blanked out (a link is never code; `f[0](x)` in code is no link). Offsets stay. */
function withoutCode(text: string): string {
  const blank = (code: string) => code.replace(/[^\n]/g, " ");
  return text.replace(/^ {0,3}(```|~~~)[^]*?^ {0,3}\1/gm, blank).replace(/`[^`\n]+`/g, blank);
}
