import { pino, type Logger } from "pino";

/** Structured JSON logs on stderr; level from O3ML_LOG_LEVEL (default info). */
export function createLogger(name = "o3ml"): Logger {
  return pino(
    { name, level: process.env.O3ML_LOG_LEVEL ?? "info", redact: ["secretAccessKey", "token", "*.secretAccessKey", "*.token"] },
    pino.destination(2),
  );
}
export type { Logger };
