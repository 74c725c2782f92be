import type { NodeKind } from "@o3ml/repository";
import type { StoreScope } from "./store-scope.js";

/**
 * Lineage: the graph of how records came from one another. Edges point
 * downstream, from what was used to what was made:
 *
 *   dataset-version ─parent→ dataset-version     (a version derived from another)
 *   dataset-version ─trained-on→ checkpoint      (the data a checkpoint was trained on)
 *   dataset-version ─used→ run
 *   run ─produced→ checkpoint | artifact
 *   checkpoint ─parent→ checkpoint               (resumed from / saved after)
 *   checkpoint ─derived→ artifact                (e.g. an export)
 *   plus any edge a `lineage.linked` event states.
 *
 * Node ids are `<kind>:<id>`; a dataset version's id is its manifest CID.
 */

export interface LineageNode {
  /** `<kind>:<id>` */
  id: string;
  kind: NodeKind;
  /** The record's own id (run id, checkpoint id, manifest CID, artifact id). */
  ref: string;
  /** A short human description, e.g. `checkpoint step 200 (epoch 1, durable)`. */
  label: string;
  /** False for a node an edge names but the index has no record of (yet). */
  known: boolean;
}

export interface LineageEdge {
  from: string;
  to: string;
  relation: string;
}

export interface LineageGraph {
  focus: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
}

const CHUNK = 500;

/** Everything upstream of `focus` and everything downstream of it, up to `depth` hops each way, in one store's records. */
export async function collectLineage(scope: StoreScope, focus: string, depth = Infinity): Promise<LineageGraph> {
  const edges = new Map<string, LineageEdge>();
  const nodes = new Set<string>([focus]);
  for (const direction of ["up", "down"] as const) {
    let frontier = [focus];
    const seen = new Set(frontier);
    for (let hop = 0; hop < depth && frontier.length > 0; hop++) {
      const next: string[] = [];
      for (let i = 0; i < frontier.length; i += CHUNK) {
        const part = frontier.slice(i, i + CHUNK);
        const rows = await scope.db
          .selectFrom("lineage_edges")
          .selectAll()
          .where("store", "=", scope.store)
          .where(direction === "up" ? "to_node" : "from_node", "in", part)
          .execute();
        for (const r of rows) {
          edges.set(`${r.from_node}\n${r.to_node}\n${r.relation}`, { from: r.from_node, to: r.to_node, relation: r.relation });
          const other = direction === "up" ? r.from_node : r.to_node;
          nodes.add(other);
          if (!seen.has(other)) {
            seen.add(other);
            next.push(other);
          }
        }
      }
      frontier = next;
    }
  }
  const described = await describeNodes(scope, [...nodes].sort());
  const sortedEdges = [...edges.values()].sort((a, b) => cmp(a.from, b.from) || cmp(a.to, b.to) || cmp(a.relation, b.relation));
  return { focus, nodes: described, edges: sortedEdges };
}

export function splitNodeId(id: string): { kind: NodeKind; ref: string } {
  const i = id.indexOf(":");
  return { kind: id.slice(0, i) as NodeKind, ref: id.slice(i + 1) };
}

async function describeNodes({ db, store }: StoreScope, ids: string[]): Promise<LineageNode[]> {
  const refsOf = (kind: NodeKind) => ids.map(splitNodeId).filter((n) => n.kind === kind).map((n) => n.ref);
  const labels = new Map<string, string>();
  for (const part of chunks(refsOf("run"))) {
    for (const r of await db.selectFrom("runs").select(["id", "name"]).where("store", "=", store).where("id", "in", part).execute()) labels.set(`run:${r.id}`, `run ${r.name}`);
  }
  for (const part of chunks(refsOf("checkpoint"))) {
    const rows = await db
      .selectFrom("checkpoints")
      .select(["id", "step", "epoch", "state_rank"])
      .where("store", "=", store)
      .where("id", "in", part)
      .where("committed_event_id", "is not", null)
      .execute();
    for (const r of rows) {
      const state = ["committed", "committed", "durable", "deleted"][Number(r.state_rank)];
      labels.set(`checkpoint:${r.id}`, `checkpoint step ${Number(r.step)} (epoch ${Number(r.epoch)}, ${state})`);
    }
  }
  for (const part of chunks(refsOf("dataset-version"))) {
    const rows = await db
      .selectFrom("dataset_versions")
      .select(["manifest_cid", "dataset", "version"])
      .where("store", "=", store)
      .where("manifest_cid", "in", part)
      .orderBy("dataset")
      .orderBy("version")
      .execute();
    // Identical content pushed under two names shares one CID; name it by the first.
    for (const r of rows) if (!labels.has(`dataset-version:${r.manifest_cid}`)) labels.set(`dataset-version:${r.manifest_cid}`, `dataset ${r.dataset}@${r.version}`);
  }
  for (const part of chunks(refsOf("artifact"))) {
    for (const r of await db.selectFrom("artifacts").select(["id", "name"]).where("store", "=", store).where("id", "in", part).execute()) labels.set(`artifact:${r.id}`, `artifact ${r.name}`);
  }
  return ids.map((id) => {
    const { kind, ref } = splitNodeId(id);
    const label = labels.get(id);
    return { id, kind, ref, label: label ?? `${kind} (not in index)`, known: label !== undefined };
  });
}

function* chunks<T>(items: T[]): Generator<T[]> {
  for (let i = 0; i < items.length; i += CHUNK) yield items.slice(i, i + CHUNK);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
