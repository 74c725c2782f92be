import { describe, expect, it } from "vitest";
import { COPY_SOURCE_CONDITIONS, judgeConditions, OBJECT_CONDITIONS, WRITE_CONDITIONS, type ConditionMode } from "./preconditions.js";

const object = { etag: '"XrY7u+Ae7tCTyyK7j1rNww=="', lastModified: new Date("2025-03-01T12:00:00Z") };
const read = (headers: Record<string, string>, mode: ConditionMode = "read") =>
  judgeConditions(headers, mode === "copy-source" ? COPY_SOURCE_CONDITIONS : mode === "write" ? WRITE_CONDITIONS : OBJECT_CONDITIONS, mode, object);

describe("judgeConditions", () => {
  it("compares opaque tags: quotes optional, commas inside quotes kept, weak tags never match If-Match", () => {
    expect(read({ "if-match": "XrY7u+Ae7tCTyyK7j1rNww==" })).toEqual({ pass: true });
    expect(read({ "if-match": '"a,b", "XrY7u+Ae7tCTyyK7j1rNww=="' })).toEqual({ pass: true });
    expect(read({ "if-match": 'W/"XrY7u+Ae7tCTyyK7j1rNww=="' })).toMatchObject({ pass: false, status: 412, condition: "if-match" });
    expect(read({ "if-match": "" })).toMatchObject({ pass: false, status: 412 });
    expect(read({ "if-none-match": 'W/"XrY7u+Ae7tCTyyK7j1rNww=="' })).toMatchObject({ pass: false, status: 304 });
  });

  it("reads the three HTTP-date formats and ignores a date that is none of them", () => {
    expect(read({ "if-unmodified-since": "Sat, 01 Mar 2025 11:59:59 GMT" })).toMatchObject({ status: 412 });
    expect(read({ "if-unmodified-since": "Saturday, 01-Mar-25 11:59:59 GMT" })).toMatchObject({ status: 412 });
    expect(read({ "if-unmodified-since": "Sat Mar  1 11:59:59 2025" })).toMatchObject({ status: 412 });
    expect(read({ "if-unmodified-since": "yesterday" })).toEqual({ pass: true });
    expect(read({ "if-modified-since": "2025-03-02" })).toEqual({ pass: true });
  });

  it("answers 412 for every failure of a copy source or a write, and ignores If-Modified-Since on writes", () => {
    expect(read({ "x-amz-copy-source-if-none-match": "*" }, "copy-source")).toMatchObject({ status: 412, condition: "x-amz-copy-source-if-none-match" });
    expect(read({ "x-amz-copy-source-if-modified-since": "Sun, 02 Mar 2025 00:00:00 GMT" }, "copy-source")).toMatchObject({ status: 412 });
    expect(read({ "if-none-match": '"XrY7u+Ae7tCTyyK7j1rNww=="' }, "write")).toMatchObject({ status: 412 });
    expect(read({ "if-modified-since": "Sun, 02 Mar 2025 00:00:00 GMT" }, "write")).toEqual({ pass: true });
    // The plain headers mean nothing on the copy source.
    expect(read({ "if-match": '"other"' }, "copy-source")).toEqual({ pass: true });
  });
});
