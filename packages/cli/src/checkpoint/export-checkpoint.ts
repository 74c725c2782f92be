import { open, rename, rm } from "node:fs/promises";
import { O3mlError } from "@o3ml/errors";
import type { CheckpointClient, WireCheckpointInfo } from "@o3ml/client";
import type { Progress } from "../progress.js";

/**
 * Writes a checkpoint as the file torch.save would have written, so
 * `torch.load(file)` reads it with no o3ml installed. The bytes are the
 * service's torch archive view of the checkpoint (CheckpointService.ReadArchive),
 * the same bytes an `o3://` read of the checkpoint gives: the service lays
 * the archive out, and every byte was verified before it was sent. The file
 * is written beside `dest` and renamed into place once complete and synced:
 * no reader ever sees a partial export.
 */
export async function exportCheckpoint(
  client: CheckpointClient,
  idOrKey: string,
  dest: string,
  progress: (info: WireCheckpointInfo, archiveBytes: number) => Progress,
): Promise<WireCheckpointInfo> {
  const info = await client.stat(idOrKey);
  const stream = client.readArchive(idOrKey);
  const first = await stream.next();
  const archive = first.done ? undefined : first.value.info;
  if (!archive) throw new O3mlError("INTERNAL", `export ${idOrKey}: the service sent no archive info`);
  if (archive.cid !== info.cid) {
    await stream.return(undefined);
    throw new O3mlError("ABORTED", `export ${idOrKey}: the key was saved again while the export began (checkpoint ${info.cid} is now ${archive.cid}); nothing was written — run it again`, { key: info.key ?? "" });
  }
  const size = Number(archive.size);
  const bar = progress(info, size);
  const tmp = `${dest}.o3ml-partial`;
  let fh;
  try {
    fh = await open(tmp, "w");
  } catch (err) {
    await stream.return(undefined);
    bar.stop();
    throw new O3mlError("INVALID_ARGUMENT", `cannot write ${dest}: ${(err as Error).message}`, {}, { cause: err });
  }
  try {
    let written = 0;
    for await (const m of stream) {
      if (!m.data) throw new O3mlError("INTERNAL", `export ${info.key}: the service sent a second info inside the archive`);
      await fh.write(m.data);
      written += m.data.byteLength;
      bar.tick(m.data.byteLength);
    }
    if (written !== size) throw new O3mlError("INTERNAL", `export ${info.key}: the archive stream ended after ${written} of its ${size} bytes; nothing was written`);
    await fh.sync();
    await fh.close();
    await rename(tmp, dest);
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  } finally {
    bar.stop();
  }
  return info;
}
