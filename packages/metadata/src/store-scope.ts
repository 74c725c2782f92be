import type { Kysely } from "kysely";
import type { IndexDatabase } from "./schema.js";

/**
 * The index as one store sees it: the database, and the store identity every
 * query is confined to (`where store = …`, see schema.ts). Lookups take a
 * scope rather than a bare database so that none can forget the store.
 */
export interface StoreScope {
  readonly db: Kysely<IndexDatabase>;
  readonly store: string;
}
