import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { O3mlError } from "@o3ml/errors";
import type { Sample, SampleSource } from "../sample.js";
import { assignSplit, type SplitRatios } from "../split-ratios.js";
import { csvRecords } from "./csv-records.js";
import { rowKey } from "./sample-keys.js";

/** A decimal number as CSV writers print one: no leading zeros ("007" stays text), finite. */
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * A CSV table as samples, one per data row: a `json` member holding the row
 * as an object keyed by the header's column names, in column order. Values
 * that are plainly numbers become JSON numbers; everything else stays text.
 * A row with a different number of fields than the header is an error
 * naming its line.
 */
export async function csvSource(path: string, opts: { ratios?: SplitRatios; seed: number }): Promise<SampleSource> {
  const read = () => csvRecords(createReadStream(path, { highWaterMark: 1024 * 1024 }), path);
  const header = read();
  const first = await header.next();
  await header.return(undefined); // closes the file
  if (first.done) throw new O3mlError("INVALID_ARGUMENT", `${path} is empty; a CSV needs a header line and at least one row`, { path });
  const columns = first.value.fields;
  const seen = new Set<string>();
  for (const c of columns) {
    if (c === "") throw new O3mlError("INVALID_ARGUMENT", `${path} line 1: the header has an empty column name; name every column`, { path });
    if (seen.has(c)) throw new O3mlError("INVALID_ARGUMENT", `${path} line 1: column ${JSON.stringify(c)} appears twice in the header; names must be unique`, { path });
    seen.add(c);
  }
  return {
    kind: "csv",
    schema: { fields: ["json"], classes: [], columns },
    estimatedBytes: (await stat(path)).size,
    async *samples(): AsyncGenerator<Sample> {
      let i = -1;
      for await (const rec of read()) {
        if (i++ === -1) continue; // the header
        if (rec.fields.length !== columns.length) {
          throw new O3mlError(
            "INVALID_ARGUMENT",
            `${path} line ${rec.line}: ${rec.fields.length} field(s), but the header has ${columns.length} columns; fix the row (quote fields that contain commas)`,
            { path, line: rec.line },
          );
        }
        const row: Record<string, unknown> = {};
        columns.forEach((c, j) => (row[c] = toValue(rec.fields[j]!)));
        const json = Buffer.from(JSON.stringify(row));
        const key = rowKey(i - 1);
        yield { key, split: opts.ratios ? assignSplit(opts.ratios, opts.seed, key) : "", members: [{ ext: "json", size: json.byteLength, bytes: json, origin: `${path} line ${rec.line}` }] };
      }
      if (i < 1) throw new O3mlError("INVALID_ARGUMENT", `${path} has a header but no rows`, { path });
    },
    notes: () => ({ imageSizes: {}, skipped: [] }),
  };
}

function toValue(text: string): string | number {
  if (!NUMBER.test(text)) return text;
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}
