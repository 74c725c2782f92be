import { O3mlError } from "@o3ml/errors";
import { isCid } from "@o3ml/integrity";
import { o3ml } from "@o3ml/proto";
import type { WireCheckpointHeader, WireCheckpointInfo, WireLoadResponse, WireArchiveResponse, WirePruneRequest, WirePruneResponse, WireSaveRequest } from "./messages.js";
import { RpcClient } from "./rpc-client.js";

/** One entry to save: the skeleton (first) or a tensor storage, with its bytes. */
export interface EntryToSave {
  name: string;
  kind: "skeleton" | "storage";
  dtype?: string;
  data: Uint8Array;
}

/** Largest data payload per Save message. */
const SAVE_MESSAGE_BYTES = 2 * 1024 * 1024;

/** A checkpoint id (its manifest CID, "bafkrei…") selects by CID; anything else is an object key. */
export function selectorOf(idOrKey: string): { key?: string; cid?: string } {
  return isCid(idOrKey) ? { cid: idOrKey } : { key: idOrKey };
}

/** A TypeScript client of the CheckpointService, used by the CLI, tests and benchmarks. */
export class CheckpointClient extends RpcClient {
  constructor(address?: string, token?: string) {
    super("CheckpointService", address, token);
  }

  /** Saves whole entries in memory: header, each entry's header and bytes, trailer. */
  save(header: WireCheckpointHeader, entries: EntryToSave[]): Promise<WireCheckpointInfo> {
    async function* messages(): AsyncGenerator<WireSaveRequest> {
      yield { header };
      for (const e of entries) {
        yield { entry: { name: e.name, kind: kindOf(e.kind), dtype: e.dtype ?? "", nbytes: e.data.byteLength } };
        for (let off = 0; off < e.data.byteLength; off += SAVE_MESSAGE_BYTES) yield { data: e.data.subarray(off, off + SAVE_MESSAGE_BYTES) };
      }
      yield { trailer: { entryCount: entries.length } };
    }
    return this.saveStream(messages(), header.key ?? "");
  }

  /** Sends Save messages as given (for streaming callers); when `messages` throws, the save is cancelled. */
  saveStream(messages: AsyncIterable<WireSaveRequest>, key = ""): Promise<WireCheckpointInfo> {
    return this.clientStream("save", messages, `save checkpoint ${key}`);
  }

  /** The Load stream: info, then each entry's header followed by its bytes. */
  load(idOrKey: string): AsyncGenerator<WireLoadResponse> {
    return this.serverStream("load", selectorOf(idOrKey));
  }

  /** Loads every entry into memory (for tests and small checkpoints). */
  async loadAll(idOrKey: string): Promise<{ info: WireCheckpointInfo; entries: { name: string; kind: number; dtype: string; data: Buffer }[] }> {
    let info: WireCheckpointInfo | undefined;
    const entries: { name: string; kind: number; dtype: string; data: Buffer; parts: Buffer[] }[] = [];
    for await (const m of this.load(idOrKey)) {
      if (m.info) info = m.info as WireCheckpointInfo;
      else if (m.entry) entries.push({ name: m.entry.name ?? "", kind: m.entry.kind ?? 0, dtype: m.entry.dtype ?? "", data: Buffer.alloc(0), parts: [] });
      else if (m.data) entries[entries.length - 1]!.parts.push(Buffer.from(m.data));
    }
    if (!info) throw new O3mlError("INTERNAL", `load checkpoint ${idOrKey}: the service sent no info`);
    return { info, entries: entries.map(({ parts, ...e }) => ({ ...e, data: Buffer.concat(parts) })) };
  }

  /** The ReadArchive stream: the archive's info (an ObjectInfo), then its bytes [offset, offset + length) (length 0: to the end). */
  readArchive(idOrKey: string, offset = 0, length = 0): AsyncGenerator<WireArchiveResponse> {
    return this.serverStream("readArchive", { checkpoint: selectorOf(idOrKey), offset, length });
  }

  stat(idOrKey: string): Promise<WireCheckpointInfo> {
    return this.unary("stat", selectorOf(idOrKey));
  }

  async list(run = "", prefix = ""): Promise<WireCheckpointInfo[]> {
    return (await this.unary<{ checkpoints: WireCheckpointInfo[] }>("list", { run, prefix })).checkpoints ?? [];
  }

  /** Re-reads every blob: takes as long as a full load, so the deadline is generous. */
  verify(idOrKey: string): Promise<{ info: WireCheckpointInfo; blobsChecked: number; bytesChecked: number }> {
    return this.unary("verify", selectorOf(idOrKey), 3600_000);
  }

  /** Deletes one checkpoint at a time, each a few requests: a long run takes a while, so the deadline is generous. */
  prune(req: WirePruneRequest): Promise<WirePruneResponse> {
    return this.unary("prune", req, 3600_000);
  }

  pin(idOrKey: string): Promise<{ info: WireCheckpointInfo; pinned: boolean }> {
    return this.unary("pin", { checkpoint: selectorOf(idOrKey) });
  }

  unpin(idOrKey: string): Promise<{ info: WireCheckpointInfo; pinned: boolean }> {
    return this.unary("unpin", { checkpoint: selectorOf(idOrKey) });
  }
}

function kindOf(kind: EntryToSave["kind"]): o3ml.v1.EntryKind {
  return kind === "skeleton" ? o3ml.v1.EntryKind.SKELETON : o3ml.v1.EntryKind.STORAGE;
}
