/**
 * The one definition of "no control characters" for names o3ml stores and
 * shows: object keys, run names, metric names, event fields, content types.
 * Such names end up in log lines, text listings, terminal output and lineage
 * graphs, where these characters break lines or act as terminal commands:
 *
 * - C0 controls U+0000–U+001F and DEL U+007F;
 * - C1 controls U+0080–U+009F (U+009B is a terminal's CSI, U+0085 a line break);
 * - the Unicode line and paragraph separators U+2028 and U+2029, which are
 *   not controls by category but break lines just the same;
 * - lone UTF-16 surrogates, which have no UTF-8 encoding: encoders refuse
 *   them or write U+FFFD instead, so the name stored would not be the one given.
 *
 * Everything else, including any other non-ASCII letter, is allowed.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\p{Cs}]/u;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, "gu");

/** The first character of `text` that o3ml refuses in names, as "U+009B (a C1 control character)"; undefined when none. */
export function unprintableCharacter(text: string): string | undefined {
  const m = UNPRINTABLE.exec(text);
  if (!m) return undefined;
  const cp = m[0].codePointAt(0)!;
  const name = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  const kind =
    cp < 0x20 || cp === 0x7f ? "a control character" : cp <= 0x9f ? "a C1 control character" : cp <= 0x2029 ? "a line or paragraph separator" : "a lone UTF-16 surrogate, which is not valid UTF-8";
  return `${name} (${kind})`;
}

/** True when `text` holds none of the characters `unprintableCharacter` describes. */
export function isPrintable(text: string): boolean {
  return !UNPRINTABLE.test(text);
}

/**
 * `text` as a JSON string literal with every character above escaped as
 * \uXXXX, for error messages: JSON.stringify leaves DEL, C1 controls and the
 * separators raw, and a refused name must not act on the terminal showing it.
 */
export function quoteName(text: string): string {
  return JSON.stringify(text).replace(UNPRINTABLE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
