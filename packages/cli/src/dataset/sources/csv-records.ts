import { O3mlError } from "@o3ml/errors";

export interface CsvRecord {
  fields: string[];
  /** 1-based line on which the record starts. */
  line: number;
}

/**
 * Streams the records of an RFC 4180 CSV file: comma-separated, fields
 * optionally in double quotes (with "" for a quote, and line breaks
 * allowed inside), lines ending in LF or CRLF. Blank lines are skipped.
 * Only one record is held at a time. `what` names the file in errors.
 */
export async function* csvRecords(source: AsyncIterable<Uint8Array>, what: string): AsyncGenerator<CsvRecord> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let fields: string[] = [];
  let field = "";
  let quoted = false; // inside a quoted field
  let wasQuoted = false; // the current field was quoted (so an empty line is not blank)
  let afterQuote = false; // just saw a quote inside a quoted field: "" or the end of it
  let line = 1;
  let start = 1;
  let first = true;
  const endRecord = () => {
    fields.push(field);
    const rec = { fields, line: start };
    const blank = fields.length === 1 && field === "" && !wasQuoted;
    fields = [];
    field = "";
    wasQuoted = false;
    return blank ? undefined : rec;
  };
  const decode = (bytes?: Uint8Array) => {
    try {
      return bytes ? decoder.decode(bytes, { stream: true }) : decoder.decode();
    } catch (err) {
      throw new O3mlError("INVALID_ARGUMENT", `${what} near line ${line} is not valid UTF-8; save the file as UTF-8`, { path: what }, { cause: err });
    }
  };
  const chunks = (async function* () {
    for await (const b of source) yield decode(b);
    yield decode();
  })();
  for await (let text of chunks) {
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (quoted) {
        if (afterQuote) {
          afterQuote = false;
          if (c === '"') {
            field += '"';
            continue;
          }
          quoted = false; // the closing quote: fall through to handle c unquoted
        } else {
          if (c === '"') afterQuote = true;
          else {
            if (c === "\n") line++;
            field += c;
          }
          continue;
        }
      }
      if (c === '"' && field === "" && !wasQuoted) {
        quoted = true;
        wasQuoted = true;
      } else if (c === ",") {
        fields.push(field);
        field = "";
        wasQuoted = false;
      } else if (c === "\n") {
        if (field.endsWith("\r")) field = field.slice(0, -1);
        const rec = endRecord();
        line++;
        start = line;
        if (rec) yield rec;
      } else field += c;
    }
  }
  if (quoted && !afterQuote) {
    throw new O3mlError("INVALID_ARGUMENT", `${what} line ${start}: a quoted field is never closed; add the missing '"'`, { path: what, line: start });
  }
  if (field.endsWith("\r")) field = field.slice(0, -1);
  const rec = endRecord();
  if (rec) yield rec;
}
