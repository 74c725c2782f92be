import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { csvSource } from "./csv-source.js";

function csvFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "o3ml-csv-")), "t.csv");
  writeFileSync(path, text);
  return path;
}

async function rows(path: string) {
  const out: unknown[] = [];
  for await (const s of (await csvSource(path, { seed: 0 })).samples()) out.push(JSON.parse(Buffer.from(s.members[0]!.bytes!).toString()));
  return out;
}

describe("CSV source", () => {
  it("makes one JSON sample per row, numbers as numbers and everything else as text", async () => {
    const path = csvFile('id,text,score\r\n1,"hello, world",0.5\r\n2,"two\nlines",007\r\n');
    expect(await rows(path)).toEqual([
      { id: 1, text: "hello, world", score: 0.5 },
      { id: 2, text: "two\nlines", score: "007" },
    ]);
  });

  it("refuses a row with another number of fields than the header, naming its line", async () => {
    const path = csvFile('a,b\n1,"x\ny"\n2,3,4\n');
    await expect(rows(path)).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: `${path} line 4: 3 field(s), but the header has 2 columns; fix the row (quote fields that contain commas)` });
  });

  it("refuses an empty file, a header without rows and a header with an empty or repeated name", async () => {
    await expect(csvSource(csvFile(""), { seed: 0 })).rejects.toThrow(/is empty; a CSV needs a header line and at least one row/);
    await expect(rows(csvFile("a,b\n"))).rejects.toThrow(/has a header but no rows/);
    await expect(csvSource(csvFile("a,,b\n1,2,3\n"), { seed: 0 })).rejects.toThrow(/line 1: the header has an empty column name; name every column/);
    await expect(csvSource(csvFile("a,b,a\n1,2,3\n"), { seed: 0 })).rejects.toThrow(/line 1: column "a" appears twice in the header; names must be unique/);
  });
});
