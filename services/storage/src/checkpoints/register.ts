import type { Server } from "@grpc/grpc-js";
import { grpcService } from "@o3ml/proto";
import { commitWithEvent, type RefRecord } from "@o3ml/repository";
import type { WriteTombstone } from "../object-repository.js";
import type { ServiceDeps } from "../service-deps.js";
import { findRecord } from "./checkpoint-info.js";
import { CheckpointPins } from "./checkpoint-pins.js";
import { CheckpointRepository } from "./checkpoint-repository.js";
import type { CheckpointDeps } from "./checkpoint-save.js";
import { checkpointService } from "./checkpoint-service.js";
import { DurabilityTracker } from "./durability-tracker.js";
import { RecallMemory } from "./recall-memory.js";

/** After a restart, at most this many committed checkpoints (the newest) are followed to the network again. */
const RESUME_LIMIT = 500;

/**
 * Adds the CheckpointService to `server`, and makes a checkpoint whose key is
 * deleted or overwritten through any service leave the listings
 * (`checkpoint.deleted`). Closing stops following checkpoints to the network.
 */
export function registerCheckpoints(server: Server, deps: ServiceDeps): { close(): Promise<void> } {
  const log = deps.ctx.log;
  const durability = new DurabilityTracker(deps.store, deps.metadata, log);
  const d: CheckpointDeps = { store: deps.store, known: deps.known, objects: deps.objects, metadata: deps.metadata, opts: deps.opts, log, durability, host: deps.host, recall: new RecallMemory() };
  server.addService(grpcService("CheckpointService"), checkpointService(new CheckpointRepository(d, new CheckpointPins(deps.store)), deps.ctx));
  deps.objects.onSuperseded((key, previous, how, writeTombstone) => supersede(d, key, previous, how, writeTombstone));
  resumeDurability(d).catch((err: unknown) => log.warn({ err: String(err) }, "could not resume following committed checkpoints to the network"));
  return { close: async () => durability.close() };
}

/**
 * Records `checkpoint.deleted` when the value a key loses was a checkpoint
 * saved at that key: a deletion's event before its tombstone, applied after
 * it (commit-order.ts). A copy (ObjectService.Copy) names the same manifest at
 * another key: an alias, whose removal leaves the checkpoint, saved and
 * listed at its own key, alone. A failure stops a delete (it is retried as a
 * whole); after an overwrite the new value is committed already, so a
 * failure is only logged.
 */
async function supersede(d: CheckpointDeps, key: string, previous: RefRecord, how: "deleted" | "replaced", writeTombstone?: WriteTombstone): Promise<void> {
  const id = previous.manifestCid;
  try {
    const record = await findRecord(d.metadata.index, id);
    if (record?.state === "deleted") return;
    const table = (await d.objects.manifests.read(id, key).catch(() => undefined))?.checkpoint;
    // Without a table the value was no checkpoint (an index that does not know it asks the manifest);
    // an unreadable manifest of an indexed checkpoint still ends its listing.
    if (table ? table.key !== key : !record) return;
    // The deletion ends the key's ref `previous`: before its tombstone (the commit point), or after
    // the new value that already ended it.
    const data = () => ({ checkpointId: id, endsRefId: previous.id });
    if (writeTombstone) await commitWithEvent(d.metadata, `delete ${key}`, "checkpoint.deleted", data, writeTombstone);
    else await d.metadata.record("checkpoint.deleted", data());
  } catch (err) {
    if (how === "deleted") throw err;
    d.log.warn({ key, cid: id, err: String(err) }, `checkpoint ${id} was overwritten at ${key} but its deletion could not be recorded; 'o3ml ckpt ls' may still list it`);
  }
}

/** Follows to the network the newest checkpoints the index still has as merely committed. */
async function resumeDurability(d: CheckpointDeps): Promise<void> {
  if (!(await d.durability.networkHeaders())) return;
  const committed = (await d.metadata.index.listCheckpoints({ states: ["committed"] })).slice(-RESUME_LIMIT);
  for (const r of committed) {
    const m = await d.objects.manifests.read(r.manifestCid).catch(() => undefined);
    if (m) d.durability.track(r.id, m.chunks.map((c) => c.cid));
  }
}
