import { isErrorCode } from "@o3ml/errors";

/**
 * What counts as a clear error: an o3ml error code from the closed set (or a
 * gRPC status other than UNKNOWN), a message that says something, no stack
 * trace and no secret in it. Anything else is a failure of the suite.
 */
export function clearError(err: unknown, secrets: string[]): { clear: boolean; code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown; details?: unknown };
  // A grpc-js ServiceError carries its text in `details`; an O3mlError in `message` (its `details` are fields).
  const message = typeof e?.details === "string" && e.details ? e.details : typeof e?.message === "string" ? e.message : String(err);
  const code = typeof e?.code === "string" ? e.code : typeof e?.code === "number" ? `grpc-${e.code}` : "none";
  const known = isErrorCode(code) || (typeof e?.code === "number" && e.code !== 2);
  const clear = known && message.trim().length > 8 && !/\n\s+at\s/.test(message) && !secrets.some((s) => message.includes(s));
  return { clear, code, message: message.slice(0, 300) };
}

export interface CaseResult {
  group: string;
  name: string;
  handled: boolean;
  detail: string;
}
