import { basename, extname } from "node:path";
import { O3mlError } from "@o3ml/errors";
import { o3ml } from "@o3ml/proto";
import type { CheckpointClient, WireCheckpointInfo, WireLoadResponse } from "@o3ml/storage-service";
import type { Progress } from "../progress.js";
import { TorchZipWriter } from "./torch-zip-writer.js";

/**
 * Writes a checkpoint as the file torch.save would have written: its
 * skeleton entry is torch's own `data.pkl` (pickled with persistent ids
 * ('storage', storage_type, key, location, numel)), and each storage entry
 * named `key` becomes the record `data/<key>`; `byteorder` and `version`
 * complete the format, so `torch.load(file)` reads it with no o3ml installed.
 * Every byte was verified by the service before it was sent.
 */
export async function exportCheckpoint(
  client: CheckpointClient,
  idOrKey: string,
  dest: string,
  progress: (info: WireCheckpointInfo) => Progress,
  opts: { forceZip64?: boolean } = {},
): Promise<WireCheckpointInfo> {
  const stream = client.load(idOrKey);
  const first = await stream.next();
  const info = first.done ? undefined : first.value.info;
  if (!info) throw new O3mlError("INTERNAL", `export ${idOrKey}: the service sent no checkpoint info`);
  const messages = peekable(stream);
  const head = await messages.peek();
  if (head?.entry?.kind !== o3ml.v1.EntryKind.SKELETON) {
    await stream.return(undefined);
    throw new O3mlError(
      "FAILED_PRECONDITION",
      `checkpoint ${info.cid} (${info.key}) has no skeleton entry, so it is not a torch checkpoint and cannot be exported as one; read its bytes with 'o3ml get ${info.key}'`,
      { key: info.key ?? "", cid: info.cid ?? "" },
    );
  }
  const bar = progress(info as WireCheckpointInfo);
  const zip = await TorchZipWriter.create(dest, archiveName(dest), opts);
  try {
    let wroteByteorder = false;
    for (let m = await messages.next(); m; m = await messages.next()) {
      const e = m.entry;
      if (!e) throw new O3mlError("INTERNAL", `export ${info.key}: data arrived outside any entry`);
      const record = e.kind === o3ml.v1.EntryKind.SKELETON ? "data.pkl" : `data/${e.name}`;
      await zip.add(record, Number(e.nbytes ?? 0), entryData(messages, record, bar));
      if (!wroteByteorder) {
        // torch stores storages little-endian and says so right after data.pkl.
        await zip.add("byteorder", 6, Buffer.from("little"));
        wroteByteorder = true;
      }
    }
    // torch's own writer stores the format version as "3\n".
    await zip.add("version", 2, Buffer.from("3\n"));
    await zip.finish();
  } catch (err) {
    await zip.abort();
    throw err;
  } finally {
    bar.stop();
  }
  return info as WireCheckpointInfo;
}

/** The data messages that follow an entry header, up to the next header. */
async function* entryData(messages: Peekable<WireLoadResponse>, record: string, bar: Progress): AsyncGenerator<Uint8Array> {
  for (let m = await messages.peek(); m && !m.entry; m = await messages.peek()) {
    await messages.next();
    if (!m.data) throw new O3mlError("INTERNAL", `export: unexpected message inside record ${record}`);
    bar.tick(m.data.byteLength);
    yield m.data;
  }
}

/** torch names the archive's folder after the file; any safe name works for torch.load. */
function archiveName(dest: string): string {
  const stem = basename(dest, extname(dest)).replace(/[^A-Za-z0-9_.-]/g, "_");
  return stem || "archive";
}

interface Peekable<T> {
  peek(): Promise<T | undefined>;
  next(): Promise<T | undefined>;
}

function peekable<T>(it: AsyncIterator<T>): Peekable<T> {
  let buffered: Promise<IteratorResult<T>> | undefined;
  const pull = () => (buffered ??= it.next());
  return {
    peek: async () => {
      const r = await pull();
      return r.done ? undefined : r.value;
    },
    next: async () => {
      const r = await pull();
      buffered = undefined;
      return r.done ? undefined : r.value;
    },
  };
}
