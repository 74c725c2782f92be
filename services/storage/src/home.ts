import { homedir } from "node:os";
import { join } from "node:path";

/** O3ML_HOME (default ~/.o3ml): where the metadata index and the local cache live. */
export function o3mlHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.O3ML_HOME || join(homedir(), ".o3ml");
}
