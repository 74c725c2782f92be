import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { parse, TomlError } from "smol-toml";
import { O3mlError } from "@o3ml/errors";
import { nearestNames } from "@o3ml/cli";

/**
 * `o3ml serve --config FILE`: a TOML file with the same keys as the flags of
 * `o3ml serve` (their long names, without the dashes in front) and the
 * environment variables the service reads (their own names). TOML because a
 * deployment's configuration wants comments beside its settings, which JSON
 * has no room for; smol-toml parses TOML 1.0 exactly and depends on nothing.
 *
 * Precedence, highest first: a flag given on the command line, a variable
 * set in the environment, the file, the defaults. The file's variables are
 * put into the environment when it does not set them, so every part of the
 * service reads them where it always did.
 */

type Kind = "string" | "number" | "boolean";

/** Flags the file may set, with the type of their value; --json and --standin are for scripts and tests, not deployments. */
const FLAGS: Record<string, Kind> = {
  listen: "string",
  metrics: "string",
  "create-bucket": "boolean",
  "chunk-size": "number",
  concurrency: "number",
  "drain-seconds": "number",
  "tls-cert": "string",
  "tls-key": "string",
  "tls-client-ca": "string",
};

/** The environment variables `o3ml serve` reads (docs/setup.md). */
export const SERVE_ENV = [
  "O3ML_ENDPOINT",
  "O3ML_REGION",
  "O3ML_BUCKET",
  "O3ML_ACCESS_KEY_ID",
  "O3ML_SECRET_ACCESS_KEY",
  "O3ML_HOME",
  "O3ML_TOKEN",
  "O3ML_DATABASE_URL",
  "O3ML_CACHE_BYTES",
  "O3ML_CACHE_SAVED",
  "O3ML_LOG_LEVEL",
] as const;

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function typeOf(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  if (typeof value === "object" && value !== null) return "a table";
  if (typeof value === "number" || typeof value === "bigint") return "a number";
  return `a ${typeof value}`;
}

/**
 * Reads `file` and applies it to the `serve` command's options and to `env`
 * (each only where nothing of higher precedence set it). Throws
 * INVALID_ARGUMENT naming the file and the key for a file that is not TOML,
 * a key the service does not know, or a value of the wrong type; nothing is
 * applied then.
 */
export function applyConfigFile(file: string, cmd: Command, env: NodeJS.ProcessEnv = process.env): void {
  const bad = (why: string, key?: string) => new O3mlError("INVALID_ARGUMENT", `--config ${file}: ${why}`, key ? { file, key } : { file });
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new O3mlError("INVALID_ARGUMENT", `--config ${file}: cannot read it (${(err as Error).message})`, { file }, { cause: err });
  }
  let table: Record<string, unknown>;
  try {
    table = parse(text);
  } catch (err) {
    const where = err instanceof TomlError ? ` at line ${err.line}, column ${err.column}` : "";
    throw new O3mlError("INVALID_ARGUMENT", `--config ${file}: not valid TOML${where}: ${(err as Error).message.split("\n")[0]}`, { file }, { cause: err });
  }
  const known = [...Object.keys(FLAGS), ...SERVE_ENV];
  const flags: [string, string | boolean][] = [];
  const vars: [string, string][] = [];
  for (const [key, value] of Object.entries(table)) {
    const kind = FLAGS[key];
    if (kind) {
      if (typeof value !== kind) throw bad(`${key} is ${typeOf(value)}; it takes ${kind === "boolean" ? "true or false" : `a ${kind}`}, as --${key} does`, key);
      flags.push([key, kind === "boolean" ? (value as boolean) : String(value)]);
    } else if ((SERVE_ENV as readonly string[]).includes(key)) {
      // Integers are taken for sizes such as O3ML_CACHE_BYTES; the environment holds them as text.
      if (typeof value !== "string" && !(typeof value === "number" && Number.isSafeInteger(value))) {
        throw bad(`${key} is ${typeOf(value)}; it takes a string, as the environment variable does`, key);
      }
      vars.push([key, String(value)]);
    } else {
      const near = nearestNames(key, known);
      throw bad(
        `${JSON.stringify(key)} is not a setting of o3ml serve${near.length ? ` (did you mean ${near.join(" or ")}?)` : ""}; ` +
          `the keys are the flags of \`o3ml serve --help\` without their dashes (${Object.keys(FLAGS).join(", ")}) and the variables ${SERVE_ENV.join(", ")}`,
        key,
      );
    }
  }
  for (const [key, value] of flags) {
    const name = camel(key);
    // Commander says where each value came from: only a default gives way to the file.
    const source = cmd.getOptionValueSource(name);
    if (source === undefined || source === "default") cmd.setOptionValueWithSource(name, value, "config");
  }
  for (const [name, value] of vars) if (!env[name]?.trim()) env[name] = value;
}
