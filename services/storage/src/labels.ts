import { O3mlError } from "@o3ml/errors";
import { unprintableCharacter } from "@o3ml/repository";

/**
 * Limits on the free-form maps a client attaches to an object or checkpoint.
 * They travel in every manifest, listing and metadata event, so an unbounded
 * map would make each of those unbounded too; real labels and metrics fit
 * far inside these.
 */
export const LABEL_LIMITS = Object.freeze({ count: 64, keyBytes: 128, valueBytes: 1024 });
export const METRIC_LIMITS = Object.freeze({ count: 256, nameBytes: 128 });
/**
 * A content (media) type travels with the object the same way; registered
 * types are at most 127 characters per part (RFC 6838), and parameters such
 * as "; charset=utf-8" fit in the rest.
 */
export const CONTENT_TYPE_MAX_BYTES = 256;

const bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** A copy of `labels`, or INVALID_ARGUMENT naming the first one over a limit; `what` starts the message. */
export function checkLabels(labels: Record<string, string> | null | undefined, what: string): Record<string, string> {
  const entries = Object.entries(labels ?? {});
  const bad = (why: string) => new O3mlError("INVALID_ARGUMENT", `${what}: ${why}; nothing was stored`);
  if (entries.length > LABEL_LIMITS.count) throw bad(`${entries.length} labels, at most ${LABEL_LIMITS.count} are allowed`);
  for (const [key, value] of entries) {
    if (typeof value !== "string") throw bad(`label ${JSON.stringify(key.slice(0, 64))} must be a string`);
    if (key === "" || bytes(key) > LABEL_LIMITS.keyBytes) throw bad(`label names must be 1 to ${LABEL_LIMITS.keyBytes} bytes, ${JSON.stringify(key.slice(0, 64))} is ${bytes(key)}`);
    if (bytes(value) > LABEL_LIMITS.valueBytes) throw bad(`label ${JSON.stringify(key)} is ${bytes(value)} bytes, at most ${LABEL_LIMITS.valueBytes} are allowed`);
  }
  return Object.fromEntries(entries);
}

/** INVALID_ARGUMENT when a metrics map is over its limits. */
export function checkMetricsSize(metrics: Record<string, unknown>, what: string): void {
  const names = Object.keys(metrics);
  const bad = (why: string) => new O3mlError("INVALID_ARGUMENT", `${what}: ${why}; nothing was stored`);
  if (names.length > METRIC_LIMITS.count) throw bad(`${names.length} metrics, at most ${METRIC_LIMITS.count} are allowed`);
  const long = names.find((n) => bytes(n) > METRIC_LIMITS.nameBytes);
  if (long !== undefined) throw bad(`metric names must be at most ${METRIC_LIMITS.nameBytes} bytes, ${JSON.stringify(long.slice(0, 64))}… is ${bytes(long)}`);
}

/**
 * The content type a client gave ("" or undefined: none), or INVALID_ARGUMENT
 * when it is over CONTENT_TYPE_MAX_BYTES or holds a control character (it is
 * shown in listings and terminal output); `what` starts the message.
 */
export function checkContentType(contentType: string | null | undefined, what: string): string | undefined {
  if (!contentType) return undefined;
  const bad = (why: string) => new O3mlError("INVALID_ARGUMENT", `${what}: ${why}; nothing was stored`);
  const n = bytes(contentType);
  if (n > CONTENT_TYPE_MAX_BYTES) throw bad(`the content type is ${n} bytes, at most ${CONTENT_TYPE_MAX_BYTES} are allowed (give a media type such as "application/octet-stream")`);
  const unprintable = unprintableCharacter(contentType);
  if (unprintable) throw bad(`the content type contains ${unprintable}; give a media type such as "application/octet-stream"`);
  return contentType;
}
