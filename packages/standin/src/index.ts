export type { S3Server } from "./s3-server.js";
export { startMoto, motoCommand } from "./moto.js";
export { startMinio, minioBinary } from "./minio.js";
export { freePort } from "./ports.js";
export { repoRoot } from "./repo-root.js";
