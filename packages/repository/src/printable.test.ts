import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkEventData } from "./event-shape.js";
import { isPrintable, quoteName, unprintableCharacter } from "./printable.js";

/** Every code point the rule refuses that is a character of its own: C0, DEL, C1, U+2028, U+2029. */
const REFUSED = [
  ...Array.from({ length: 0x20 }, (_, i) => i),
  ...Array.from({ length: 0xa0 - 0x7f }, (_, i) => 0x7f + i),
  0x2028,
  0x2029,
];
const hex = (cp: number) => `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;

describe("printable names", () => {
  it("refuses every C0, DEL, C1 control and the line/paragraph separators, anywhere in a name, naming it", () => {
    for (const cp of REFUSED) {
      const c = String.fromCodePoint(cp);
      for (const name of [c, `a${c}`, `${c}a`, `runs/${c}/x`]) {
        expect(isPrintable(name), hex(cp)).toBe(false);
        expect(unprintableCharacter(name)).toContain(hex(cp));
      }
    }
    expect(unprintableCharacter("a\u009bb")).toBe("U+009B (a C1 control character)");
  });

  it("refuses lone UTF-16 surrogates, which have no UTF-8 encoding, and accepts proper pairs", () => {
    for (const name of ["\ud800", "a\udbffb", "\udc00", "x\udfff", "\ude00\ud83d", "\ud83d"]) {
      expect(isPrintable(name), JSON.stringify(name)).toBe(false);
      expect(unprintableCharacter(name)).toMatch(/lone UTF-16 surrogate/);
    }
    expect(isPrintable("\ud83d\ude00")).toBe(true);
  });

  it("accepts the characters just outside the refused ranges and other non-ASCII text", () => {
    for (const name of [" ", "~", "\u00a0", "\u00ff", "é", "ключ", "日本", "\u2027", "\u202a", "\ufffd", "😀"]) expect(isPrintable(name), JSON.stringify(name)).toBe(true);
  });

  it("a name is printable exactly when it holds none of the refused characters (property)", () => {
    const refused = fc.constantFrom(...REFUSED.map((cp) => String.fromCodePoint(cp)));
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 20 }), fc.string({ unit: "grapheme", maxLength: 20 }), refused, (before, after, bad) => {
        expect(isPrintable(`${before}${bad}${after}`)).toBe(false);
        const clean = (s: string) => [...s].every((ch) => !REFUSED.includes(ch.codePointAt(0)!));
        if (clean(before) && clean(after)) expect(isPrintable(`${before}${after}`)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("quotes a refused name for messages with every refused character escaped", () => {
    for (const cp of REFUSED) {
      const quoted = quoteName(`a${String.fromCodePoint(cp)}b`);
      expect(isPrintable(quoted), hex(cp)).toBe(true);
      expect(JSON.parse(quoted)).toBe(`a${String.fromCodePoint(cp)}b`);
    }
    expect(isPrintable(quoteName("a\ud800b"))).toBe(true);
  });

  it("event fields follow the same rule: a run name with a C1 control or a separator is refused", () => {
    const run = { runId: "r1", name: "ok", hyperparameters: {}, codeCommit: null, codeDirty: null, packages: {}, host: null };
    expect(() => checkEventData("run.created", run)).not.toThrow();
    for (const name of ["a\u009bb", "a\u0085b", "a\u2028b", "a\ud800b", "a\u007fb"]) {
      expect(() => checkEventData("run.created", { ...run, name }), JSON.stringify(name)).toThrow(/printable/);
    }
    expect(() => checkEventData("run.created", { ...run, packages: { "a\u009b": "1" } })).toThrow(/unprintable key/);
  });
});
