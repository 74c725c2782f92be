import { setTimeout as sleep } from "node:timers/promises";

/**
 * Races `work` against a timer that is cancelled as soon as `work` settles: a
 * plain `sleep()` in a race keeps the process alive (and, when it rejects,
 * raises an unhandled rejection) long after the race was decided, which kept
 * the reliability run waiting minutes after its summary.
 */
export async function within<T, F>(work: Promise<T>, ms: number, onTimeout: () => F | Promise<F>): Promise<T | F> {
  const timer = new AbortController();
  const late = sleep(ms, undefined, { signal: timer.signal }).then(
    () => ({ late: true as const }),
    () => ({ late: false as const }),
  );
  try {
    const first = await Promise.race([work.then((value) => ({ value })), late]);
    if ("value" in first) return first.value;
    return await onTimeout();
  } finally {
    timer.abort();
  }
}
