import { Readable, pipeline } from "node:stream";
import { CsvError, parse, type Options } from "csv-parse";
import { O3mlError } from "@o3ml/errors";

export interface CsvRecord {
  fields: string[];
  /** 1-based line on which the record starts. */
  line: number;
}

/**
 * Streams the records of an RFC 4180 CSV file, parsed by csv-parse:
 * comma-separated, fields optionally in double quotes (with "" for a quote,
 * and line breaks allowed inside), lines ending in LF or CRLF. Blank lines
 * are skipped; records may have any number of fields (the caller checks them
 * against the header). Only a chunk of the file is held at a time. `what`
 * names the file in errors, which give the line the bad record starts on.
 */
export async function* csvRecords(source: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<CsvRecord> {
  // csv-parse counts lines to a record's end; a record starts after the end of the one before and the blank lines skipped since.
  let ended = { lines: 0, empty: 0 };
  const startLine = (now: { lines: number; empty_lines: number }) => ended.lines + 1 + now.empty_lines - ended.empty;
  const options: Options<CsvRecord, string[]> = {
    skip_empty_lines: true,
    relax_column_count: true,
    record_delimiter: ["\r\n", "\n"],
    // Runs as each record is parsed, ahead of the consumer, so `ended` is also right for an error in the next record.
    on_record: (fields, info) => {
      const line = startLine(info);
      ended = { lines: info.lines, empty: info.empty_lines };
      return { fields, line };
    },
  };
  // csv-parse's types allow a record of another shape only together with `columns`.
  const parser = parse(options as unknown as Options);
  pipeline(Readable.from(utf8Text(source, what)), parser, () => {});
  try {
    yield* parser as AsyncIterable<CsvRecord>;
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    const line = startLine(parser.info);
    const why =
      err.code === "CSV_QUOTE_NOT_CLOSED"
        ? `a quoted field is never closed; add the missing '"'`
        : `${err.message}; put a field that holds a comma, a quote or a line break in double quotes, and double each quote inside it`;
    throw new O3mlError("INVALID_ARGUMENT", `${what} line ${line}: ${why}`, { path: what, line }, { cause: err });
  }
}

/** The file as text; invalid UTF-8 is an error (csv-parse would put U+FFFD in its place). The decoder drops a byte-order mark. */
async function* utf8Text(source: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 1; // of the text decoded so far: the error names the line of the chunk that failed to decode
  const decode = (bytes?: Uint8Array) => {
    try {
      const text = bytes ? decoder.decode(bytes, { stream: true }) : decoder.decode();
      for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) line++;
      return text;
    } catch (err) {
      throw new O3mlError("INVALID_ARGUMENT", `${what} near line ${line} is not valid UTF-8; save the file as UTF-8`, { path: what }, { cause: err });
    }
  };
  for await (const bytes of source) {
    const text = decode(bytes);
    if (text) yield text;
  }
  const rest = decode();
  if (rest) yield rest;
}
