import { openPromise, type Entry, type ZipFile } from "yauzl";
import { O3mlError } from "@o3ml/errors";

/**
 * The entries of an .npz (numpy writes it with Python's zipfile: stored or
 * deflated, zip64 for large arrays), read by yauzl: found through the
 * central directory and streamed, with their sizes checked as they inflate.
 * Each call opens the file anew, so an entry can be read as often as a push
 * needs without a descriptor held in between.
 */
export interface ZipEntry {
  name: string;
  size: number;
}

export async function readZipEntries(path: string): Promise<ZipEntry[]> {
  const zip = await openZip(path);
  try {
    const entries: ZipEntry[] = [];
    for await (const e of zip.eachEntry()) entries.push({ name: e.fileName, size: e.uncompressedSize });
    return entries;
  } catch (err) {
    throw unreadable(path, err);
  } finally {
    zip.close();
  }
}

/** The uncompressed bytes of entry `name`, streamed. */
export async function* readZipEntry(path: string, name: string): AsyncGenerator<Uint8Array> {
  const zip = await openZip(path);
  try {
    let entry: Entry | undefined;
    try {
      for await (const e of zip.eachEntry()) {
        if (e.fileName !== name) continue;
        entry = e;
        break;
      }
    } catch (err) {
      throw unreadable(path, err);
    }
    if (!entry) throw unreadable(path, new Error(`${name} is no longer in it`));
    try {
      yield* (await zip.openReadStreamPromise(entry)) as AsyncIterable<Buffer>;
    } catch (err) {
      throw new O3mlError("INVALID_ARGUMENT", `${path}: ${name} cannot be read (${reason(err)}); the file is damaged: save the arrays again with np.savez`, { path }, { cause: err });
    }
  } finally {
    zip.close();
  }
}

async function openZip(path: string): Promise<ZipFile> {
  // autoClose off: the file stays open after its entries are listed, for the entry to be read; the caller closes it.
  return openPromise(path, { lazyEntries: true, autoClose: false }).catch((err) => Promise.reject(unreadable(path, err)));
}

function unreadable(path: string, err: unknown): O3mlError {
  if (err instanceof O3mlError) return err;
  return new O3mlError("INVALID_ARGUMENT", `${path} is not a readable .npz (zip) file: ${reason(err)}; save the arrays again with np.savez`, { path }, { cause: err });
}

/** yauzl's message without its closing full stop, to be followed by what to do. */
const reason = (err: unknown) => (err as Error).message.replace(/\.+$/, "");
