import { O3mlError, isO3mlError } from "@o3ml/errors";

/** How many near names a message offers. */
const MAX_SUGGESTIONS = 3;

/**
 * The known names nearest to `wanted`, nearest first: those within a few
 * edits (one in four characters, at least one; a swap of two neighbours is
 * one edit), then those that contain it, ignoring case. A typo finds its
 * name, a part of a name finds the whole.
 */
export function nearestNames(wanted: string, known: Iterable<string>): string[] {
  const w = wanted.toLowerCase();
  const limit = Math.max(1, Math.floor(w.length / 4));
  const scored: [string, number][] = [];
  for (const name of new Set(known)) {
    const n = name.toLowerCase();
    if (!n || n === w) continue;
    const d = editDistance(w, n);
    if (d <= limit) scored.push([name, d]);
    else if (w.length >= 3 && n.includes(w)) scored.push([name, limit + 1]);
  }
  return scored
    .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
    .slice(0, MAX_SUGGESTIONS)
    .map(([name]) => name);
}

/** " (did you mean 'a' or 'b'?)", or nothing when no known name is near. */
function didYouMean(wanted: string, known: Iterable<string>): string {
  const near = nearestNames(wanted, known);
  if (near.length === 0) return "";
  const quoted = near.map((n) => `'${n}'`);
  return ` (did you mean ${quoted.length > 1 ? `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}` : quoted[0]}?)`;
}

/** NOT_FOUND for a `kind` ("run", "dataset") named `wanted` that is none of `known`, with the nearest names and where to see them all. */
export function unknownName(kind: string, wanted: string, known: Iterable<string>, listedBy: string): O3mlError {
  return new O3mlError("NOT_FOUND", `no ${kind} ${wanted}${didYouMean(wanted, known)}; \`${listedBy}\` lists them`, { [kind]: wanted });
}

/**
 * Runs `call`; when it fails with NOT_FOUND and `wanted` is none of the
 * `known` names (listed only then), fails with the same error followed by
 * the nearest of them. A NOT_FOUND about something else (a blob a known
 * name leads to) and every other failure pass unchanged.
 */
export async function suggestingNames<T>(wanted: string, known: () => Promise<string[]>, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!isO3mlError(err, "NOT_FOUND")) throw err;
    const names = await known().catch((): string[] => []);
    const hint = names.includes(wanted) ? "" : didYouMean(wanted, names);
    if (!hint) throw err;
    throw new O3mlError("NOT_FOUND", `${err.message}${hint}`, err.details, { cause: err });
  }
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours each cost one. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
