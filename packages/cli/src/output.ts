import { O3mlError } from "@o3ml/errors";

/** Sizes in binary units; one function for the commands and for the warnings of dataset packing. */
export { formatBytes } from "@o3ml/datasets";

export interface OutputOptions {
  json?: boolean;
}

/** Prints a result: JSON for machines (--json), or the human rendering. */
export function emit(opts: OutputOptions, value: unknown, human: () => string): void {
  process.stdout.write(opts.json ? `${JSON.stringify(value)}\n` : `${human()}\n`);
}

/**
 * `o3ml lineage … | head`: once the reader of stdout has gone, nothing more
 * can be said, so the command ends at once, quietly and with 0, since the
 * reader stopped by choice.
 */
export function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
}

/** Exit codes by error code, so scripts can branch without parsing text. */
const EXIT: Record<string, number> = { INVALID_ARGUMENT: 2, NOT_FOUND: 3, UNAUTHENTICATED: 4, PERMISSION_DENIED: 4, INTEGRITY: 5, UNAVAILABLE: 6 };

/** Reports a failure on stderr (JSON on stdout with --json) and sets the exit code. */
export function fail(err: unknown, json: boolean): void {
  const e = O3mlError.from(err);
  if (json) process.stdout.write(`${JSON.stringify({ error: e.toJSON() })}\n`);
  process.stderr.write(`o3ml: ${e.code}: ${e.message}\n`);
  process.exitCode = EXIT[e.code] ?? 1;
}

/** Rows under a header, each column as wide as its widest cell (the last one left ragged). */
export function renderTable(head: string[], rows: string[][]): string {
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join("  ")).join("\n");
}
