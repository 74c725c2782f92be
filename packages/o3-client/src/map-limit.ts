/**
 * Runs `fn` over `items` with at most `limit` calls in flight; results in input order. After the
 * first failure no further item starts, and the call rejects with that failure only once the
 * calls already in flight have settled: a caller that cleans up on failure (a temp file, a
 * lease) never races a call still running.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return out;
}
