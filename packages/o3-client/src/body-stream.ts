import { O3mlError } from "@o3ml/errors";

/** A response body: any async iterable of bytes; destroyed (if it can be) when it stalls. */
export type Body = AsyncIterable<Uint8Array> & { destroy?: (err?: Error) => void };

/**
 * Reads a response body chunk by chunk, failing
 * - with UNAVAILABLE if it ends before `expected` bytes: a body cut short by
 *   a dropped connection must not look like a complete object;
 * - with DEADLINE_EXCEEDED (and destroying the body, which frees its
 *   connection) when no data arrives for `idleMs` while the consumer is
 *   waiting for some (0: never).
 *
 * The stall check replaces the HTTP handler's socket idle timeout, which
 * cannot tell a stalled server from a slow reader: a dataset stream consumed
 * at training pace leaves its socket quiet under backpressure and must not
 * fail for it. Time the consumer spends between chunks is not counted.
 * One coarse timer per body rather than one per chunk keeps this cheap.
 */
export async function* readBody(body: Body, expected: number | undefined, idleMs: number, what: string): AsyncGenerator<Uint8Array> {
  let seen = 0;
  let waitingSince = Date.now();
  let stalled: O3mlError | undefined;
  const timer =
    idleMs > 0
      ? setInterval(
          () => {
            if (waitingSince === 0 || Date.now() - waitingSince < idleMs) return;
            stalled = new O3mlError("DEADLINE_EXCEEDED", `the response for ${what} delivered nothing for ${idleMs} ms; the endpoint stalled`, { idleMs });
            body.destroy?.(stalled);
          },
          Math.max(10, Math.floor(idleMs / 4)),
        )
      : undefined;
  timer?.unref();
  try {
    for await (const chunk of body) {
      waitingSince = 0;
      seen += chunk.byteLength;
      yield chunk;
      waitingSince = Date.now();
    }
  } catch (err) {
    throw stalled ?? err;
  } finally {
    clearInterval(timer);
  }
  if (stalled) throw stalled;
  if (expected !== undefined && seen !== expected) throw truncated(what, seen, expected);
}

export function truncated(what: string, seen: number, expected: number): O3mlError {
  return new O3mlError("UNAVAILABLE", `the response for ${what} ended after ${seen} of ${expected} bytes; the connection was probably cut, retry`, {
    received: seen,
    expected,
  });
}
