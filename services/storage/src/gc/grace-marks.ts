import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError, isO3mlError } from "@o3ml/errors";
import { GC_MARKS_KEY, type BucketNow } from "@o3ml/repository";

const FORMAT = 1;

/**
 * When each bucket key was first seen unreachable, on the bucket's clock,
 * kept in the bucket (GC_MARKS_KEY) so that every gc process, on any host
 * and after any restart, counts the grace period from the same moment.
 *
 * Two collections at once may each write their marks, and the later write
 * wins: a lost mark only restarts a key's grace period, and a mark kept for a
 * key that became reachable in between only matters to a blob a commit reuses
 * (never to one it uploads: those are also kept until their LastModified is
 * older than the grace, see GarbageCollector), which the condemned list
 * protects (gc/condemned.ts). So neither order deletes anything early.
 */
export class GraceMarks {
  private constructor(
    private readonly store: BlobStore,
    private marks: Map<string, number>,
  ) {}

  static async load(store: BlobStore): Promise<GraceMarks> {
    let bytes: Uint8Array;
    try {
      bytes = await store.get(GC_MARKS_KEY);
    } catch (err) {
      if (!isO3mlError(err, "NOT_FOUND")) throw err;
      return new GraceMarks(store, new Map());
    }
    return new GraceMarks(store, parseMarks(bytes));
  }

  /**
   * Records the keys unreachable now (a key not seen before is marked with
   * the latest moment `now` may be, forgetting keys that are reachable again)
   * and returns the ones unreachable for at least `graceMs` however late the
   * marks were made; with no grace period, every one. Nothing is written until `save`.
   */
  observe(unreachable: Iterable<string>, now: BucketNow, graceMs: number): Set<string> {
    const next = new Map<string, number>();
    const due = new Set<string>();
    for (const key of unreachable) {
      const since = this.marks.get(key) ?? now.latest;
      next.set(key, since);
      if (graceMs === 0 || now.earliest - since >= graceMs) due.add(key);
    }
    this.marks = next;
    return due;
  }

  /** A deleted key starts over should it ever come back. */
  forget(key: string): void {
    this.marks.delete(key);
  }

  firstSeen(key: string): number | undefined {
    return this.marks.get(key);
  }

  async save(): Promise<void> {
    const body = JSON.stringify({ format: FORMAT, marks: Object.fromEntries(this.marks) });
    await this.store.put(GC_MARKS_KEY, Buffer.from(body, "utf8"), { contentType: "application/json" });
  }
}

function parseMarks(bytes: Uint8Array): Map<string, number> {
  const bad = (why: string) =>
    new O3mlError("FAILED_PRECONDITION", `gc stopped before deleting anything: ${GC_MARKS_KEY} ${why}; delete that object (every unreachable item then waits a whole grace period again)`, {
      key: GC_MARKS_KEY,
    });
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw bad("is not JSON");
  }
  const d = doc as { format?: unknown; marks?: unknown };
  if (typeof d !== "object" || d === null || typeof d.marks !== "object" || d.marks === null) throw bad("holds no marks");
  if (d.format !== FORMAT) throw bad(`has format ${JSON.stringify(d.format)}, this o3ml reads format ${FORMAT}: upgrade o3ml`);
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(d.marks)) {
    if (typeof v !== "number" || !Number.isFinite(v)) throw bad(`marks ${k} with ${JSON.stringify(v)}, not a time`);
    out.set(k, v);
  }
  return out;
}
