import { Transform, type TransformCallback } from "node:stream";

/**
 * Passes the first `keepBytes` bytes of a body and swallows the rest, calling
 * `onCut` when the first byte is dropped. The caller then closes the
 * connection, so the client sees fewer bytes than Content-Length promised.
 */
export function truncateBody(keepBytes: number, onCut: () => void): Transform {
  let passed = 0;
  let cut = false;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const room = keepBytes - passed;
      if (room >= chunk.length) {
        passed += chunk.length;
        return done(null, chunk);
      }
      if (!cut) {
        cut = true;
        onCut();
      }
      passed = keepBytes;
      done(null, room > 0 ? chunk.subarray(0, room) : undefined);
    },
  });
}

/**
 * Inverts one bit of a body, at byte `offset` (or, when the body length is
 * not known, at a random byte of the first chunk); `random` picks the bit.
 * Content-Length is unchanged, so only a content check can notice.
 */
export function flipOneBit(offset: number | undefined, random: () => number, onFlipped: () => void): Transform {
  let seen = 0;
  let target = offset;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      target ??= Math.floor(random() * chunk.length);
      if (target >= seen && target < seen + chunk.length) {
        const copy = Buffer.from(chunk);
        const i = target - seen;
        copy[i] = (copy[i] ?? 0) ^ (1 << Math.floor(random() * 8));
        chunk = copy;
        onFlipped();
      }
      seen += chunk.length;
      done(null, chunk);
    },
  });
}

/** Lets the first chunk through, then holds the rest of the body for `ms`. */
export function stallBody(ms: number, onStalled: () => void): Transform {
  let first = true;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (!first) return done(null, chunk);
      first = false;
      onStalled();
      this.push(chunk);
      const timer = setTimeout(done, ms);
      // A client that gives up during the stall must not keep the timer alive.
      this.once("close", () => clearTimeout(timer));
    },
  });
}
