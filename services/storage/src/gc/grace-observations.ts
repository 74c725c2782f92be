/**
 * When this service first saw each bucket key unreachable. The store's
 * interface gives no object ages, so the grace period counts from the first
 * collection that found a key unreachable: a key is deleted only once it has
 * been unreachable for the whole grace period, as seen by this service. An
 * upload that commits within the grace period is therefore never collected,
 * whichever service writes it. Kept in memory: a restart only delays collection.
 */
export class GraceObservations {
  private readonly firstSeen = new Map<string, number>();

  /**
   * Records the keys found unreachable now (forgetting the ones that are not
   * any more) and returns those unreachable for at least `graceMs`.
   */
  observe(unreachable: Iterable<string>, graceMs: number, now = Date.now()): Set<string> {
    const seen = new Map<string, number>();
    const due = new Set<string>();
    for (const key of unreachable) {
      const since = this.firstSeen.get(key) ?? now;
      seen.set(key, since);
      if (now - since >= graceMs) due.add(key);
    }
    this.firstSeen.clear();
    for (const [k, t] of seen) this.firstSeen.set(k, t);
    return due;
  }

  /** A deleted key starts over should it ever come back. */
  forget(key: string): void {
    this.firstSeen.delete(key);
  }
}
