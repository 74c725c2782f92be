import { codeFromGrpcStatus, isErrorCode, type ErrorCodeName } from "./codes.js";

export type ErrorDetails = Record<string, string | number | boolean | undefined>;

/**
 * The single error type of o3ml. Messages state what happened, to which object
 * or endpoint, and what the user can do about it; never secrets.
 */
export class O3mlError extends Error {
  override readonly name = "O3mlError";
  readonly code: ErrorCodeName;
  readonly details: ErrorDetails;

  constructor(code: ErrorCodeName, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }

  /** Normalises anything thrown into an O3mlError, keeping the original as `cause`. */
  static from(err: unknown, context?: string): O3mlError {
    if (err instanceof O3mlError) return err;
    const prefix = context ? `${context}: ` : "";
    if (isGrpcLike(err)) {
      const trailer = err.metadata?.get?.("o3ml-code")?.[0];
      const code = isErrorCode(String(trailer)) ? (String(trailer) as ErrorCodeName) : codeFromGrpcStatus(err.code);
      return new O3mlError(code, prefix + (err.details || err.message), {}, { cause: err });
    }
    if (err instanceof Error) {
      const sys = (err as NodeJS.ErrnoException).code;
      if (sys === "ECONNREFUSED" || sys === "ECONNRESET" || sys === "ETIMEDOUT" || sys === "EPIPE" || sys === "ENOTFOUND") {
        return new O3mlError("UNAVAILABLE", `${prefix}${err.message}`, { errno: sys }, { cause: err });
      }
      if (err.name === "AbortError") return new O3mlError("CANCELLED", `${prefix}${err.message}`, {}, { cause: err });
      return new O3mlError("INTERNAL", `${prefix}${err.message}`, {}, { cause: err });
    }
    return new O3mlError("INTERNAL", `${prefix}${String(err)}`);
  }

  toJSON(): { code: ErrorCodeName; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

interface GrpcLike {
  code: number;
  details?: string;
  message: string;
  metadata?: { get?: (k: string) => unknown[] };
}

function isGrpcLike(err: unknown): err is GrpcLike {
  return err instanceof Error && typeof (err as { code?: unknown }).code === "number" && "details" in err;
}

/** Type guard usable across package copies. */
export function isO3mlError(err: unknown, code?: ErrorCodeName): err is O3mlError {
  return err instanceof O3mlError && (code === undefined || err.code === code);
}

export { isErrorCode };
