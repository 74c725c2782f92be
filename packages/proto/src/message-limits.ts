import { o3ml } from "./gen/o3ml.js";

/**
 * Largest gRPC message either way, from proto/o3ml/v1/limits.proto: the
 * server and every TypeScript client take it from here, and Python from the
 * same enum (o3ml.gen.limits_pb2), so no side refuses what another sends.
 */
export const MAX_MESSAGE_BYTES: number = o3ml.v1.MessageLimit.MAX_MESSAGE_BYTES;

/** Largest data message of a put (ObjectService refuses a bigger one), from the same file. */
export const MAX_DATA_MESSAGE_BYTES: number = o3ml.v1.MessageLimit.MAX_DATA_MESSAGE_BYTES;

/** The grpc-js options of every o3ml channel and of the server: MAX_MESSAGE_BYTES both ways. */
export const MESSAGE_LIMIT_OPTIONS = {
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
} as const;
