import { O3mlError } from "@o3ml/errors";
import type { DialectName } from "./write-transaction.js";

/**
 * Turns database driver errors into O3mlErrors that say which index failed
 * and what to do, and never carry a password: messages name the database by
 * `redactDatabaseUrl`, and driver text is scrubbed before it is quoted.
 */

/** The URL with any password (userinfo or `password=` parameter) replaced by `***`. */
export function redactDatabaseUrl(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // Unparsable: hide everything between the scheme and the last "@".
    return url.replace(/^([^:/]*:\/\/)(.*)@/, "$1***@").replace(/([?&]password=)[^&#]*/gi, "$1***");
  }
  if (parsed.password) parsed.password = "***";
  let out = parsed.toString();
  if (parsed.searchParams.has("password")) out = out.replace(/([?&]password=)[^&#]*/gi, "$1***");
  return out;
}

/** Every form of the password a URL carries (as written and decoded), to scrub from driver messages. */
export function passwordsOf(url: string): string[] {
  const found = new Set<string>();
  try {
    const u = new URL(url);
    for (const p of [u.password, safeDecode(u.password), u.searchParams.get("password") ?? ""]) if (p) found.add(p);
  } catch {
    const m = /^[^:/]*:\/\/[^:]*:(.*)@/.exec(url);
    if (m?.[1]) found.add(m[1]);
  }
  return [...found];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join("***");
  return out;
}

const SQLITE_DAMAGE = new Set(["SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CORRUPT_INDEX", "SQLITE_CORRUPT_SEQUENCE", "SQLITE_CORRUPT_VTAB", "SQLITE_IOERR_SHORT_READ"]);

/** The `code` a driver or Node puts on its errors (a SQLSTATE, a SQLITE_ name, an errno name), or "" when it has none. */
export function errorCodeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" || typeof code === "number" ? String(code) : "";
}

export function isSqliteDamage(err: unknown): boolean {
  return SQLITE_DAMAGE.has(errorCodeOf(err));
}

export function damagedIndex(path: string, reason: string, cause?: unknown): O3mlError {
  return new O3mlError(
    "FAILED_PRECONDITION",
    `the metadata index ${path} is damaged (${reason}). It is only an index of the bucket, so nothing is lost: ` +
      "run `o3ml index rebuild` to recreate it from the bucket (the damaged file is kept beside it)",
    { path },
    { cause },
  );
}

/** Errors while connecting to PostgreSQL: which server, what went wrong, what to check. */
export function postgresConnectError(err: unknown, url: string): O3mlError {
  const where = redactDatabaseUrl(url);
  const code = errorCodeOf(err);
  const text = scrub(err instanceof Error ? err.message : String(err), passwordsOf(url));
  const check = "check O3ML_DATABASE_URL";
  if (code === "28P01" || /password|SASL|SCRAM/i.test(text)) {
    return new O3mlError("UNAUTHENTICATED", `PostgreSQL at ${where} refused the credentials (${text}); ${check}`, { where, sqlstate: code }, { cause: err });
  }
  if (code === "28000" || code === "42501") {
    return new O3mlError("PERMISSION_DENIED", `PostgreSQL at ${where} refused access (${text}); ${check}`, { where, sqlstate: code }, { cause: err });
  }
  if (code === "3D000") {
    return new O3mlError("NOT_FOUND", `PostgreSQL at ${where}: ${text}; create the database or ${check}`, { where, sqlstate: code }, { cause: err });
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
    return new O3mlError("INVALID_ARGUMENT", `the host of O3ML_DATABASE_URL ${where} does not resolve (${text})`, { where, errno: code }, { cause: err });
  }
  return new O3mlError("UNAVAILABLE", `cannot reach PostgreSQL at ${where} (${text || code}); is the server running? ${check}`, { where, errno: code }, { cause: err });
}

/** Errors from queries on an open index. */
export function queryError(err: unknown, dialect: DialectName, where: string, doing: string, secrets: readonly string[] = []): O3mlError {
  if (err instanceof O3mlError) return err;
  if (dialect === "sqlite" && isSqliteDamage(err)) return damagedIndex(where, (err as Error).message, err);
  const code = errorCodeOf(err);
  const text = scrub(err instanceof Error ? err.message : String(err), secrets);
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    return new O3mlError("UNAVAILABLE", `the metadata index ${where} stayed locked by another writer while ${doing}; retry`, { where }, { cause: err });
  }
  if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE)$/.test(code) || /^(08|57P)/.test(code) || /Connection terminated|timeout/i.test(text)) {
    return new O3mlError("UNAVAILABLE", `lost the connection to the metadata index ${where} while ${doing} (${text}); retry`, { where }, { cause: err });
  }
  return new O3mlError("INTERNAL", `metadata index ${where} failed while ${doing}: ${text}`, { where }, { cause: err });
}
