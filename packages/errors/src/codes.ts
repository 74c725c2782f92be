import { status } from "@grpc/grpc-js";
import { o3ml } from "@o3ml/proto";

/** The closed set of error codes, generated from proto/o3ml/v1/errors.proto. */
export type ErrorCodeName = Exclude<keyof typeof o3ml.v1.ErrorCode, "ERROR_CODE_UNSPECIFIED">;

/** The one table mapping o3ml codes to gRPC status codes. */
export const GRPC_STATUS: Readonly<Record<ErrorCodeName, status>> = Object.freeze({
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  INTEGRITY: status.DATA_LOSS,
  UNAVAILABLE: status.UNAVAILABLE,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  ABORTED: status.ABORTED,
  CANCELLED: status.CANCELLED,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  UNIMPLEMENTED: status.UNIMPLEMENTED,
  INTERNAL: status.INTERNAL,
});

export const ERROR_CODES = Object.keys(GRPC_STATUS) as ErrorCodeName[];

/** Inverse of GRPC_STATUS, used when a peer sent a status without an o3ml-code trailer. */
export function codeFromGrpcStatus(s: status): ErrorCodeName {
  if (s === status.UNKNOWN) return "INTERNAL";
  if (s === status.OUT_OF_RANGE) return "INVALID_ARGUMENT";
  for (const code of ERROR_CODES) if (GRPC_STATUS[code] === s) return code;
  return "INTERNAL";
}

export function isErrorCode(value: unknown): value is ErrorCodeName {
  return typeof value === "string" && (ERROR_CODES as string[]).includes(value);
}
