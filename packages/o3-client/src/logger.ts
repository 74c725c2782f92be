import { pino, type Logger } from "pino";

let shared: Logger | undefined;

/**
 * The package's logger when the caller passes none: JSON lines on stderr
 * (stdout belongs to the CLI's --json output), level from O3ML_LOG_LEVEL,
 * "info" by default.
 */
export function defaultLogger(): Logger {
  shared ??= pino(
    { name: "o3ml.o3-client", level: process.env.O3ML_LOG_LEVEL?.trim() || "info" },
    pino.destination({ dest: 2, sync: true }),
  );
  return shared;
}
