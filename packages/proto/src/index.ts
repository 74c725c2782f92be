export { o3ml } from "./gen/o3ml.js";
export { grpcService } from "./grpc-service.js";
