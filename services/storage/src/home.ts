import { homedir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** O3ML_HOME (default ~/.o3ml): where the metadata index and the local cache live. */
export function o3mlHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.O3ML_HOME || join(homedir(), ".o3ml");
}

/**
 * The folder of the default store, `$O3ML_HOME/store`: what `o3ml serve` keeps
 * its bucket in when no endpoint is configured, and what `o3ml index rebuild
 * --offline` reads then. One place names it so that both, and the index
 * records they key by its `file://` address, agree.
 */
export function localStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(o3mlHome(env), "store");
}

/** The `file://` endpoint of localStoreDir, as the store client takes it. */
export function localStoreEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return pathToFileURL(localStoreDir(env)).href;
}
