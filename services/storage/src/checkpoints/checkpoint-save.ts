import type { BlobStore } from "@o3ml/o3-client";
import { O3mlError } from "@o3ml/errors";
import { encodeObjectManifest } from "@o3ml/integrity";
import type { o3ml } from "@o3ml/proto";
import type { Host } from "../colocation/host.js";
import { type BlobLease, type KnownBlobs, commitWithEvent, type RefRecord } from "@o3ml/repository";
import type { Logger } from "../logger.js";
import type { ServiceMetadata } from "../metadata/service-metadata.js";
import type { ObjectRepository } from "../object-repository.js";
import type { ServiceOptions } from "../service-options.js";
import { checkEntry, checkHeader, type SaveHeader } from "./checkpoint-header.js";
import { latestOfRun, type CheckpointInfo } from "./checkpoint-info.js";
import { CheckpointWriter, type CheckpointBody } from "./checkpoint-writer.js";
import type { RecallMemory } from "./recall-memory.js";
import type { DurabilityTracker } from "./durability-tracker.js";

/** The content type of a checkpoint object: its entries' bytes, concatenated. */
export const CHECKPOINT_CONTENT_TYPE = "application/vnd.o3ml.checkpoint";

export interface CheckpointDeps {
  store: BlobStore;
  known: KnownBlobs;
  objects: ObjectRepository;
  metadata: ServiceMetadata;
  opts: ServiceOptions;
  log: Logger;
  durability: DurabilityTracker;
  host: Host;
  /** What the runs' last staged saves held, for entries sent without their bytes. */
  recall: RecallMemory;
}

export type SaveMessage = o3ml.v1.SaveCheckpointRequest.$Properties & { msg?: string };

/**
 * One Save stream, after its header: entries become blobs as they arrive;
 * only a complete stream (every entry whole, a trailer with the right count,
 * the client still there) is committed, in the order of commit-order.ts:
 * blobs → manifest → `checkpoint.committed` event → ref. Anything less
 * writes no ref, so the checkpoint never becomes visible (nor listed) and
 * its blobs are garbage for `o3ml gc`.
 */
export async function saveCheckpoint(
  d: CheckpointDeps,
  header: o3ml.v1.CheckpointHeader.$Properties,
  messages: AsyncIterable<SaveMessage>,
  cancelled: () => boolean,
): Promise<CheckpointInfo> {
  const h = checkHeader(header);
  const bad = (why: string) => new O3mlError("INVALID_ARGUMENT", `save checkpoint ${h.key}: ${why}; nothing was committed`, { key: h.key });
  const staging = header.staged ? await d.host.staging() : undefined;
  const staged = staging ? await staging.openStaged(header.staged ?? "", `save checkpoint ${h.key}`) : undefined;
  const previous = d.objects.previous(h.key);
  const lease = d.known.lease();
  const w = new CheckpointWriter(d.store, d.known, lease, h.key, d.opts, d.host.chunks);
  try {
    let entryCount: number | undefined;
    for await (const m of messages) {
      if (entryCount !== undefined) throw bad("a message came after the trailer");
      if (m.msg === "entry") {
        const e = checkEntry(h.key, m.entry ?? {}, w.previous);
        if (staged) w.announce(e);
        else await w.begin(e);
      } else if (m.msg === "data") {
        if (staged) throw bad("a data message in a staged save (the bytes are in the staged file)");
        await w.data(m.data ?? new Uint8Array(0));
      } else if (m.msg === "trailer") entryCount = m.trailer?.entryCount ?? 0;
      else if (m.msg === "header") throw bad("a second header in one stream");
      else throw bad("an empty message");
    }
    // A cancelled call also ends the message stream: never commit what may be a prefix.
    if (cancelled()) throw new O3mlError("ABORTED", `save checkpoint ${h.key}: the client went away mid-stream; nothing was committed`, { key: h.key });
    if (entryCount === undefined) {
      throw new O3mlError("ABORTED", `save checkpoint ${h.key}: the stream ended without a trailer, so it may be cut short; nothing was committed — save again`, { key: h.key });
    }
    if (staged) {
      if (entryCount !== w.previous.length) throw bad(`the trailer counts ${entryCount} entries but ${w.previous.length} were announced`);
      await w.writeStaged(staged, d.host.hashes, d.recall, h.run, (cid, digest, bytes) => d.host.keep(cid, digest, bytes));
    }
    const body = await w.finish(entryCount);
    const info = await commit(d, h, body, lease, await previous);
    if (staged) d.recall.remember(h.run, w.recalled);
    return info;
  } catch (err) {
    await w.abort();
    throw err;
  } finally {
    lease.release();
    if (staged) {
      await staged.close();
      await staging?.remove(header.staged ?? "");
    }
  }
}

async function commit(d: CheckpointDeps, h: SaveHeader, body: CheckpointBody, lease: BlobLease, previous: RefRecord | undefined): Promise<CheckpointInfo> {
  const parentCid = h.parentCid || (await latestOfRun(d.metadata.index, h.run))?.manifestCid || "";
  const manifest = encodeObjectManifest({
    size: body.storedSize,
    chunks: body.chunks,
    contentType: CHECKPOINT_CONTENT_TYPE,
    // No whole-checkpoint digest: the blobs' CIDs prove the content, the table's CRC-32s each entry.
    sha256: new Uint8Array(0),
    labels: h.labels,
    checkpoint: { key: h.key, run: h.run, step: h.step, epoch: h.epoch, metrics: h.metrics, datasetCid: h.datasetCid, parentCid, entries: body.entries },
  });
  const { cid } = await d.objects.manifests.write(manifest, lease);
  // The event, then the ref (the commit point), then the index: commit-order.ts.
  const what = `save checkpoint ${h.key}`;
  const { event } = await commitWithEvent(
    d.metadata,
    what,
    "checkpoint.committed",
    (refId) => ({
      checkpointId: cid,
      runId: h.run,
      step: h.step,
      epoch: h.epoch,
      metrics: h.metrics,
      manifestCid: cid,
      parentCheckpointId: parentCid || null,
      datasetVersionCid: h.datasetCid || null,
      bytesTotal: body.size,
      bytesUploaded: body.bytesUploaded,
      bytesDeduplicated: body.bytesDeduplicated,
      refId,
    }),
    (beforeRef) => d.objects.commit(h.key, cid, body.size, previous, lease, what, { beforeRef }),
  );
  d.durability.track(cid, body.chunks.map((c) => c.cid));
  return {
    cid,
    key: h.key,
    run: h.run,
    step: h.step,
    epoch: h.epoch,
    metrics: h.metrics,
    datasetCid: h.datasetCid,
    parentCid,
    state: "committed",
    bytesTotal: body.size,
    bytesUploaded: body.bytesUploaded,
    bytesDeduplicated: body.bytesDeduplicated,
    createdUnixMs: Date.parse(event.at),
    entryCount: body.entries.length,
  };
}
