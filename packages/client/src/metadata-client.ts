import type { o3ml } from "@o3ml/proto";
import { artifactFromWire, checkpointFromWire, runFromWire, type ArtifactRecord, type CheckpointRecord, type RunRecord } from "./metadata-records.js";
import type { WireRebuildResult } from "./messages.js";
import { RpcClient } from "./rpc-client.js";

export interface RunRegistration {
  name: string;
  hyperparameters?: Record<string, unknown>;
  codeCommit?: string | null;
  codeDirty?: boolean | null;
  packages?: Record<string, string>;
  host?: string | null;
  /** ALREADY_EXISTS when the name is registered already, instead of continuing that run. */
  mustBeNew?: boolean;
}

/** A TypeScript client of the MetadataService; answers are index records (null for absent values, ISO times). */
export class MetadataClient extends RpcClient {
  constructor(address?: string, token?: string) {
    super("MetadataService", address, token);
  }

  async registerRun(r: RunRegistration): Promise<RunRecord> {
    const req = {
      name: r.name,
      hyperparametersJson: JSON.stringify(r.hyperparameters ?? {}),
      codeCommit: r.codeCommit ?? "",
      codeDirty: !!r.codeDirty,
      hasCodeDirty: r.codeDirty !== undefined && r.codeDirty !== null,
      packages: r.packages ?? {},
      host: r.host ?? "",
      mustBeNew: !!r.mustBeNew,
    };
    return runFromWire(await this.unary("registerRun", req));
  }

  async listRuns(): Promise<RunRecord[]> {
    const res = await this.unary<o3ml.v1.ListRunsResponse>("listRuns", {});
    return res.runs.map(runFromWire);
  }

  async getRun(run: string): Promise<RunRecord> {
    return runFromWire(await this.unary("getRun", { run }));
  }

  async listCheckpoints(run = ""): Promise<CheckpointRecord[]> {
    const res = await this.unary<o3ml.v1.ListRunCheckpointsResponse>("listCheckpoints", { run });
    return res.checkpoints.map(checkpointFromWire);
  }

  async getCheckpoint(id: string): Promise<CheckpointRecord> {
    return checkpointFromWire(await this.unary("getCheckpoint", { id }));
  }

  /**
   * The lineage around `id`, rendered as "text", "mermaid", "dot" or "json"
   * (the service checks the name); `focus` is the node id `id` resolved to.
   */
  async lineage(id: string, format = "text", depth = 0): Promise<{ focus: string; rendered: string }> {
    const res = await this.unary<o3ml.v1.LineageResponse>("lineage", { id, format, depth });
    return { focus: res.focus, rendered: res.rendered };
  }

  async recordArtifact(a: { run: string; name: string; cid: string; bytes: number; mediaType?: string; checkpointId?: string }): Promise<ArtifactRecord> {
    return artifactFromWire(await this.unary("recordArtifact", { ...a, mediaType: a.mediaType ?? "", checkpointId: a.checkpointId ?? "" }));
  }

  /** Deletes the run (id or name) and its checkpoints; returns the run and the ids of the checkpoints deleted. */
  async deleteRun(run: string, force = false): Promise<{ run: RunRecord; checkpointIds: string[] }> {
    const res = await this.unary<o3ml.v1.DeleteRunResponse>("deleteRun", { run, force });
    return { run: runFromWire(res.run!), checkpointIds: [...(res.checkpointIds ?? [])] };
  }

  /** Rebuilds the service's index from the bucket's log; a large log takes a while, hence the long deadline. */
  rebuildIndex(timeoutMs = 30 * 60_000): Promise<WireRebuildResult> {
    return this.unary("rebuildIndex", {}, timeoutMs);
  }
}
