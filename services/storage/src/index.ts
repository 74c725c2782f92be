export { startService, type RunningService } from "./server.js";
export { DEFAULTS, parseHostPort, type ServiceOptions } from "./service-options.js";
export { ObjectRepository, type ObjectInfo, type PutResult } from "./object-repository.js";
export { validateObjectKey, blobKey, manifestKey, refPrefix, ROOT } from "./layout.js";
export { createLogger, type Logger } from "./logger.js";
export { ServiceClient, type WireObjectInfo } from "./service-client.js";
