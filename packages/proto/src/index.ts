export { o3ml } from "./gen/o3ml.js";
export { grpcService } from "./grpc-service.js";
export { MAX_DATA_MESSAGE_BYTES, MAX_MESSAGE_BYTES, MESSAGE_LIMIT_OPTIONS } from "./message-limits.js";
