export { startService, type RunningService } from "./server.js";
export { DEFAULTS, parseHostPort, type ServiceOptions } from "./service-options.js";
export { ObjectRepository, type ObjectInfo, type PutResult } from "./object-repository.js";
export { CONTENT_TYPE_MAX_BYTES } from "./labels.js";
export { PACK_ENTRY_BYTES } from "./checkpoints/entry-packs.js";
export { createLogger, type Logger } from "./logger.js";
export { localStoreDir, localStoreEndpoint, o3mlHome } from "./home.js";
export { rebuildIndexOffline, type OfflineRebuildResult } from "./metadata/offline-rebuild.js";
export { serverCredentials, type TlsFiles } from "./server-tls.js";
