import { constants } from "node:fs";
import { access, readdir, realpath, stat } from "node:fs/promises";
import { join } from "node:path";
import { O3mlError } from "@o3ml/errors";

export interface TreeFile {
  /** Path relative to the root, '/'-separated. */
  rel: string;
  abs: string;
  size: number;
}

/**
 * Every regular file under `root`, sorted by relative path. Hidden entries
 * (names starting with '.') are left out and reported. Anything that could
 * not be pushed as it is — an unreadable file or folder, a broken link, a
 * FIFO or device — fails here, before a byte is uploaded, naming the path.
 */
export async function walkTree(root: string): Promise<{ files: TreeFile[]; skipped: string[] }> {
  const files: TreeFile[] = [];
  const skipped: string[] = [];
  const seenDirs = new Set<string>();
  const visit = async (abs: string, rel: string): Promise<void> => {
    const real = await realpath(abs).catch((err) => Promise.reject(unreadable(abs, err)));
    if (seenDirs.has(real)) throw new O3mlError("INVALID_ARGUMENT", `${abs} links back to a folder already pushed (a symbolic link loop); remove the link`, { path: abs });
    seenDirs.add(real);
    const names = (await readdir(abs).catch((err) => Promise.reject(unreadable(abs, err)))).sort();
    for (const name of names) {
      const childAbs = join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      if (name.startsWith(".")) {
        skipped.push(childRel);
        continue;
      }
      const s = await stat(childAbs).catch((err) => Promise.reject(unreadable(childAbs, err)));
      if (s.isDirectory()) await visit(childAbs, childRel);
      else if (s.isFile()) {
        await access(childAbs, constants.R_OK).catch((err) => Promise.reject(unreadable(childAbs, err)));
        files.push({ rel: childRel, abs: childAbs, size: s.size });
      } else {
        throw new O3mlError("INVALID_ARGUMENT", `${childAbs} is not a regular file (a FIFO, socket or device); move it out of the dataset folder`, { path: childAbs });
      }
    }
  };
  await visit(root, "");
  return { files, skipped };
}

function unreadable(path: string, err: unknown): O3mlError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === "ENOENT" ? "it does not exist (a broken symbolic link?)" : code === "EACCES" || code === "EPERM" ? "permission denied" : (err as Error).message;
  return new O3mlError("INVALID_ARGUMENT", `cannot read ${path}: ${why}; fix it or remove it from the dataset folder`, { path, errno: code }, { cause: err });
}
