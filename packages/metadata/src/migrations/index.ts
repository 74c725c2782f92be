import type { Migration } from "kysely";
import { initial } from "./0001-initial.js";

/**
 * Every schema migration, in order. Names sort in application order; a
 * migration is never edited once released, only followed by a new one, and
 * the new one sets `o3ml_schema.version` to its own number.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  "0001-initial": initial,
});

/** The schema version this code creates and the newest it can use. */
export const SCHEMA_VERSION = Object.keys(MIGRATIONS).length;
