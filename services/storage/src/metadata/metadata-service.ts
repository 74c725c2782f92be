import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import { artifactToWire, checkpointToWire, parseHyperparameters, runToWire, type ArtifactRecord as SentArtifact, type CheckpointRecord as SentCheckpoint, type RunRecord as SentRun } from "@o3ml/client";
import { isO3mlError, O3mlError } from "@o3ml/errors";
import { LINEAGE_FORMATS, renderLineage, type ArtifactRecord, type CheckpointRecord, type LineageFormat, type MetadataIndex, type RunRecord } from "@o3ml/metadata";
import { isPrintable, newEventId, quoteName } from "@o3ml/repository";
import type { o3ml } from "@o3ml/proto";
import type { ObjectRepository } from "../object-repository.js";
import { unary, type RpcContext } from "../rpc-handlers.js";
import { checkContentType } from "../labels.js";
import { NameQueue } from "./name-queue.js";
import { deleteRun } from "./run-deletion.js";
import type { ServiceMetadata } from "./service-metadata.js";

// The index's records go out through the client package's converters
// (packages/client/src/metadata-records.ts), whose record types must be the
// index's: a field added to one and not the other fails the build here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const RECORDS_MATCH: [Same<RunRecord, SentRun>, Same<CheckpointRecord, SentCheckpoint>, Same<ArtifactRecord, SentArtifact>] = [true, true, true];

/**
 * The MetadataService handlers: runs, checkpoints and artifacts from the
 * index, lineage rendered for people or machines, run deletion and the index rebuild.
 * Registrations are events: stored in the bucket's log, then applied.
 */
export function metadataService(metadata: ServiceMetadata, objects: Pick<ObjectRepository, "stat" | "delete" | "resolve" | "manifests">, ctx: RpcContext): UntypedServiceImplementation {
  const index = () => metadata.index;
  const registrations = new NameQueue();
  return {
    registerRun: unary(ctx, "Metadata.RegisterRun", async (req: o3ml.v1.RegisterRunRequest.$Properties) => {
      const name = required(req.name, "a run needs a name, e.g. \"mnist-baseline\"");
      // Checked before the name is looked up, so a lookup never sees what no run can be named.
      if (name.length > 512 || !isPrintable(name)) throw new O3mlError("INVALID_ARGUMENT", `run name ${quoteName(name)} must be printable text of at most 512 characters`);
      // One registration per name at a time, so two trainers starting together continue one run.
      return registrations.run(name, async () => {
        const existing = await runNamed(index(), name);
        if (existing && req.mustBeNew) {
          throw new O3mlError("ALREADY_EXISTS", `run ${JSON.stringify(name)} is registered already (id ${existing.id}); choose another name, or register without must_be_new to continue it`, { id: existing.id });
        }
        // A name registered again continues its run: a second run of the same name would hide the
        // first's checkpoints from every lookup by name.
        if (existing) return { ...runToWire(existing), existing: true };
        const runId = newEventId();
        const event = await metadata.record("run.created", {
          runId,
          name,
          hyperparameters: parseHyperparameters(req.hyperparametersJson ?? ""),
          codeCommit: req.codeCommit || null,
          codeDirty: req.hasCodeDirty ? !!req.codeDirty : null,
          packages: { ...(req.packages ?? {}) },
          host: req.host || null,
        });
        return runToWire({ ...event.data, id: runId, createdAt: event.at });
      });
    }),

    listRuns: unary(ctx, "Metadata.ListRuns", async () => ({ runs: (await index().listRuns()).map(runToWire) })),

    getRun: unary(ctx, "Metadata.GetRun", async (req: o3ml.v1.GetRunRequest.$Properties) =>
      runToWire(await index().getRun(required(req.run, "name the run by id or name; `o3ml runs ls` lists them"))),
    ),

    listCheckpoints: unary(ctx, "Metadata.ListCheckpoints", async (req: o3ml.v1.ListRunCheckpointsRequest.$Properties) => ({
      checkpoints: (await checkpointsOf(index(), req.run || undefined)).map(checkpointToWire),
    })),

    getCheckpoint: unary(ctx, "Metadata.GetCheckpoint", async (req: o3ml.v1.GetCheckpointRecordRequest.$Properties) =>
      checkpointToWire(await index().getCheckpoint(required(req.id, "name the checkpoint by its id (its manifest CID); `o3ml ckpt ls` lists them"))),
    ),

    lineage: unary(ctx, "Metadata.Lineage", async (req: o3ml.v1.LineageRequest.$Properties) => {
      const id = required(req.id, "name a run, checkpoint, artifact, manifest CID or dataset@version");
      const format = lineageFormat(req.format || "text");
      const depth = req.depth ? Number(req.depth) : undefined;
      const graph = await index()
        .lineage(id, { depth })
        .catch(async (err: unknown) => index().lineage(await checkpointAtKey(objects, id, err), { depth }));
      return { focus: graph.focus, format, rendered: renderLineage(graph, format) };
    }),

    recordArtifact: unary(ctx, "Metadata.RecordArtifact", async (req: o3ml.v1.RecordArtifactRequest.$Properties) => {
      const run = required(req.run, "an artifact needs the id or name of the run that produced it");
      const artifactId = newEventId();
      const event = await metadata.record("artifact.created", {
        artifactId,
        runId: await runIdOf(index(), run),
        name: required(req.name, "an artifact needs a name, e.g. \"model.onnx\""),
        cid: required(req.cid, "an artifact needs the content identifier (CID) of its bytes"),
        bytes: Number(req.bytes ?? 0),
        mediaType: checkContentType(req.mediaType, "record artifact: media_type") ?? null,
        checkpointId: req.checkpointId || null,
      });
      return artifactToWire({ ...event.data, id: artifactId, createdAt: event.at });
    }),

    deleteRun: unary(ctx, "Metadata.DeleteRun", async (req: o3ml.v1.DeleteRunRequest.$Properties) => {
      const run = await index().getRun(required(req.run, "name the run to delete by id or name; `o3ml runs ls` lists them"));
      // In the name's registration queue: a trainer registering the name meanwhile continues no half-deleted run.
      const done = await registrations.run(run.name, () => deleteRun(metadata, objects, run.id, !!req.force));
      return { run: runToWire(done.run), checkpointIds: done.checkpointIds };
    }),

    rebuildIndex: unary(ctx, "Metadata.RebuildIndex", async () => {
      const r = await metadata.rebuild((message) => ctx.log.warn({ rebuild: true }, message));
      ctx.log.info({ objects: r.objects, applied: r.applied, skipped: r.skipped, unlanded: r.unlanded, caughtUp: r.caughtUp, durationMs: r.durationMs }, "metadata index rebuilt from the bucket's log");
      return { ...r };
    }),
  };
}

function required(value: string | null | undefined, what: string): string {
  if (!value) throw new O3mlError("INVALID_ARGUMENT", what);
  return value;
}

function lineageFormat(format: string): LineageFormat {
  if (!(LINEAGE_FORMATS as readonly string[]).includes(format)) {
    throw new O3mlError("INVALID_ARGUMENT", `unknown lineage format ${JSON.stringify(format)}; use one of ${LINEAGE_FORMATS.join(", ")}`);
  }
  return format as LineageFormat;
}

/**
 * A run's checkpoints. Checkpoints name their run by the id the trainer gave,
 * which need not belong to a registered run (a Lightning run named after its
 * checkpoint folder): such an id is matched directly.
 */
async function checkpointsOf(index: MetadataIndex, run: string | undefined): Promise<CheckpointRecord[]> {
  if (run === undefined) return index.listCheckpoints();
  try {
    return await index.listCheckpoints({ run });
  } catch (err) {
    if (!isO3mlError(err, "NOT_FOUND")) throw err;
    const direct = (await index.listCheckpoints()).filter((c) => c.runId === run);
    if (direct.length === 0) throw err;
    return direct;
  }
}

/** The run registered under exactly `name` (the newest, as every lookup by name takes), if any. */
async function runNamed(index: MetadataIndex, name: string): Promise<RunRecord | undefined> {
  try {
    const found = await index.getRun(name);
    if (found.name === name) return found;
  } catch (err) {
    if (!isO3mlError(err, "NOT_FOUND")) throw err;
    return undefined;
  }
  // `name` is also some run's id: look for a run really named so.
  return (await index.listRuns()).filter((r) => r.name === name).at(-1);
}

/** A run name the index knows becomes its id; anything else is taken as an id (possibly from another service's index). */
async function runIdOf(index: MetadataIndex, run: string): Promise<string> {
  try {
    return (await index.getRun(run)).id;
  } catch (err) {
    if (isO3mlError(err, "NOT_FOUND")) return run;
    throw err;
  }
}

/**
 * What `o3ml ckpt` accepts, lineage accepts too: the object key of a
 * checkpoint stands for the checkpoint stored there now (its manifest CID).
 * When `id` is no key either, the answer is NOT_FOUND saying every kind of id
 * that would have been understood.
 */
async function checkpointAtKey(objects: Pick<ObjectRepository, "stat" | "delete" | "resolve" | "manifests">, id: string, notInIndex: unknown): Promise<string> {
  if (!isO3mlError(notInIndex, "NOT_FOUND")) throw notInIndex;
  try {
    return (await objects.stat(id)).cid;
  } catch (err) {
    if (!isO3mlError(err, "NOT_FOUND") && !isO3mlError(err, "INVALID_ARGUMENT")) throw err;
    throw new O3mlError(
      "NOT_FOUND",
      `no run, checkpoint, artifact or dataset version ${id} in the metadata index, and no object with that key; ` +
        "give a run id or name, a checkpoint id or key, an artifact id, a manifest CID, or a dataset version as name@version " +
        "(`o3ml runs ls`, `o3ml ckpt ls` and `o3ml dataset ls` list them)",
      { id },
    );
  }
}
