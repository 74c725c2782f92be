import { randomBytes } from "node:crypto";

/**
 * Sortable event ids, in the ULID layout: 26 characters of Crockford base32,
 * the first 10 the creation time in milliseconds, the last 16 random. Sorting
 * ids as plain strings sorts them by time, which is what makes the bucket's
 * log (`o3ml/v1/log/<id>`) and refs listable in order without an index.
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;
const MAX_TIME = 2 ** 48 - 1;
const PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

let lastTime = -1;
let lastRandom: number[] = [];

/**
 * A new sortable id. Ids made by one process are strictly increasing even
 * within one millisecond (the random part is incremented), so a writer's own
 * events replay in the order it wrote them.
 */
export function newEventId(now: number = Date.now()): string {
  if (!Number.isInteger(now) || now < 0 || now > MAX_TIME) throw new RangeError(`event id time out of range: ${now}`);
  let random: number[];
  if (now <= lastTime) {
    random = increment(lastRandom);
    now = lastTime;
  } else {
    const bytes = randomBytes(RANDOM_CHARS);
    random = Array.from(bytes, (b) => b & 31);
  }
  lastTime = now;
  lastRandom = random;
  return encodeTime(now) + random.map((d) => ALPHABET[d]).join("");
}

export function isEventId(value: unknown): value is string {
  return typeof value === "string" && PATTERN.test(value);
}

/** The creation time encoded in an id, in milliseconds since the epoch. */
export function eventIdTime(id: string): number {
  if (!isEventId(id)) throw new RangeError(`not an event id: ${id}`);
  let t = 0;
  for (const ch of id.slice(0, TIME_CHARS)) t = t * 32 + ALPHABET.indexOf(ch);
  return t;
}

function encodeTime(ms: number): string {
  let out = "";
  for (let i = 0; i < TIME_CHARS; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function increment(digits: number[]): number[] {
  const next = [...digits];
  for (let i = next.length - 1; i >= 0; i--) {
    const d = next[i]!;
    if (d < 31) {
      next[i] = d + 1;
      return next;
    }
    next[i] = 0;
  }
  // 80 random bits exhausted within one millisecond: practically unreachable,
  // but wrapping would break ordering, so refuse instead.
  throw new RangeError("event id space for this millisecond is exhausted");
}
