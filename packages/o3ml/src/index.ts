export { registerServe } from "./serve.js";
export { applyConfigFile, SERVE_ENV } from "./serve-config.js";
export { startServedStore, type ServedStore } from "./serve-store.js";
