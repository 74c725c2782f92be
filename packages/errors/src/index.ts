export { O3mlError, isO3mlError, type ErrorDetails } from "./o3ml-error.js";
export { GRPC_STATUS, ERROR_CODES, codeFromGrpcStatus, isErrorCode, type ErrorCodeName } from "./codes.js";
