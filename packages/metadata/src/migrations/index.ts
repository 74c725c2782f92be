import type { Migration } from "kysely";
import type { DialectName } from "../write-transaction.js";
import { initial } from "./0001-initial.js";
import { storeMigration } from "./0002-store.js";

/** What a migration may need to know about the index it migrates. */
export interface MigrationContext {
  /** The identity of the store the index is being opened against (see schema.ts). */
  store: string;
  dialect: DialectName;
}

/**
 * Every schema migration, in order. Names sort in application order; a
 * migration is never edited once released, only followed by a new one, and
 * the new one sets `o3ml_schema.version` to its own number.
 */
const STEPS: readonly (readonly [string, (ctx: MigrationContext) => Migration])[] = [
  ["0001-initial", () => initial],
  ["0002-store", storeMigration],
];

export function migrations(ctx: MigrationContext): Record<string, Migration> {
  return Object.fromEntries(STEPS.map(([name, make]) => [name, make(ctx)]));
}

/** The schema version this code creates and the newest it can use. */
export const SCHEMA_VERSION = STEPS.length;
