import { describe, expect, it } from "vitest";
import { csvRecords } from "./csv-records.js";

async function parse(text: string | Uint8Array[], what = "t.csv") {
  const parts = typeof text === "string" ? [Buffer.from(text)] : text;
  const out: [number, string[]][] = [];
  for await (const r of csvRecords((async function* () { yield* parts; })(), what)) out.push([r.line, r.fields]);
  return out;
}

describe("CSV records", () => {
  it("reads quotes, escaped quotes, commas and line breaks in fields, CRLF, a BOM and blank lines", async () => {
    const text = '\uFEFFa,b,c\r\n1,"x, ""y""",3\r\n\r\n"multi\nline",,"end"\n4,5,6';
    expect(await parse(text)).toEqual([
      [1, ["a", "b", "c"]],
      [2, ["1", 'x, "y"', "3"]],
      [4, ["multi\nline", "", "end"]],
      [6, ["4", "5", "6"]],
    ]);
  });

  it("gives the same records whatever the chunking, even inside a UTF-8 character", async () => {
    const bytes = Buffer.from('n,é\n"q""",ü\n');
    const whole = await parse([bytes]);
    const split = await parse(Array.from(bytes, (b) => Buffer.from([b])));
    expect(split).toEqual(whole);
    expect(whole[1]).toEqual([2, ['q"', "ü"]]);
  });

  it("names the line of a quote that is never closed, and of invalid UTF-8", async () => {
    await expect(parse('a,b\n1,"oops\n2,3\n')).rejects.toThrow(/t\.csv line 2: a quoted field is never closed/);
    await expect(parse([Buffer.from("a\n"), Buffer.from([0xff, 0xfe, 0x0a])])).rejects.toThrow(/t\.csv near line 2 is not valid UTF-8; save the file as UTF-8/);
  });

  it("names the line a bad record starts on, after multi-line fields and blank lines, and says how to quote", async () => {
    await expect(parse('a,b\n"x\ny",1\n\n1,"q"z\n')).rejects.toThrow(
      /t\.csv line 5: Invalid Closing Quote.*; put a field that holds a comma, a quote or a line break in double quotes, and double each quote inside it/,
    );
  });
});
