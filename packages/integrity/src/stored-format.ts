/**
 * Checks shared by every stored format (manifests, refs): decoding without
 * leaking protobuf errors, and refusing versions newer than this reader.
 * Internal to the package.
 */
import { O3mlError, type ErrorDetails } from "@o3ml/errors";

/** The error for stored bytes that are not a valid record of their kind. */
export function malformed(noun: string, reason: string, details: ErrorDetails, cause?: unknown): O3mlError {
  return new O3mlError(
    "INTEGRITY",
    `${noun} is malformed: ${reason}; it was damaged or not written by o3ml; ` +
      "run `o3ml verify` to find what depends on it and restore it from another copy",
    details,
    cause === undefined ? undefined : { cause },
  );
}

/** Runs a generated protobuf decoder, turning its exceptions into INTEGRITY errors. */
export function decodeWith<T>(decode: (b: Uint8Array) => T, bytes: Uint8Array, noun: string, details: ErrorDetails): T {
  try {
    return decode(bytes);
  } catch (err) {
    throw malformed(noun, `it does not decode as protobuf (${(err as Error).message})`, details, err);
  }
}

/**
 * Refuses a record this reader cannot interpret: one without a version (every
 * writer sets it) or one written in a newer format.
 */
export function checkFormatVersion(found: number, known: number, noun: string, details: ErrorDetails): void {
  if (found === 0) throw malformed(noun, "it has no format_version", details);
  if (found > known) {
    throw new O3mlError(
      "FAILED_PRECONDITION",
      `${noun} has format_version ${found}, but this o3ml reads up to ${known}: it was written by a newer o3ml; ` +
        "upgrade o3ml to read it",
      { ...details, formatVersion: found, knownFormatVersion: known },
    );
  }
}

/** Throws INVALID_ARGUMENT unless `value` is a safe integer >= `min`. */
export function checkWhole(name: string, value: unknown, min: number, noun: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `cannot encode ${noun}: ${name} must be a whole number >= ${min} (and below 2^53), got ${String(value)}`,
      { field: name },
    );
  }
  return value;
}

/** Throws INVALID_ARGUMENT unless `value` is a non-empty string. */
export function checkText(name: string, value: unknown, noun: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `cannot encode ${noun}: ${name} must be a non-empty string, got ${JSON.stringify(value)}`,
      { field: name },
    );
  }
  return value;
}
