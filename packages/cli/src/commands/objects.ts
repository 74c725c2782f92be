import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import type { Command } from "commander";
import { O3mlError } from "@o3ml/errors";
import { emit, formatBytes } from "../output.js";
import { progressFor } from "../progress.js";
import type { o3ml } from "@o3ml/proto";
import { ServiceClient } from "@o3ml/client";
import { clientAction } from "../client-action.js";
import { keyPrefix, objectKey } from "../o3-url.js";

interface JsonOpt {
  json: boolean;
}

/** Runs `fn` with a fresh client; failures become o3ml errors with exit codes. */
const withClient = <A extends unknown[]>(fn: (c: ServiceClient, ...args: A) => Promise<void>) => clientAction((address) => new ServiceClient(address), fn);

export function infoJson(i: o3ml.v1.IObjectInfo) {
  return {
    key: i.key ?? "",
    size: Number(i.size ?? 0),
    cid: i.cid ?? "",
    sha256: i.sha256 ?? "",
    created: new Date(Number(i.createdUnixMs ?? 0)).toISOString(),
    chunks: i.chunkCount ?? 0,
    contentType: i.contentType ?? "",
    labels: i.labels ?? {},
    // Only a damaged object has one: what is wrong with it (see `o3ml verify`).
    ...(i.problem ? { problem: i.problem } : {}),
  };
}

export function registerObjectCommands(program: Command): void {
  program
    .command("put <source> <key>")
    .description("upload a file (or - for stdin) as object <key> (a key or o3://bucket/key), hashed and verified end to end")
    .option("--json", "machine-readable output", false)
    .action(withClient(async (c, source: string, path: string, o: JsonOpt) => {
      const key = objectKey(path, c.address);
      const size = source === "-" ? undefined : fileSize(source);
      const input = source === "-" ? process.stdin : createReadStream(source, { highWaterMark: 2 * 1024 * 1024 });
      const hash = createHash("sha256");
      const bar = progressFor(`put ${key}`, size, o.json);
      async function* tap() {
        for await (const b of input as AsyncIterable<Buffer>) {
          hash.update(b);
          bar.tick(b.byteLength);
          yield b;
        }
      }
      const res = await c.put(key, tap(), { size, sha256: () => hash.digest("hex") }).finally(() => bar.stop());
      const out = { ...infoJson(res.info!), bytesUploaded: Number(res.bytesUploaded), bytesDeduplicated: Number(res.bytesDeduplicated) };
      emit(o, out, () => `${key}  ${formatBytes(out.size)}  ${out.cid}  (uploaded ${formatBytes(out.bytesUploaded)}, deduplicated ${formatBytes(out.bytesDeduplicated)})`);
    }));

  program
    .command("get <key> [dest]")
    .description("download object <key> (a key or o3://bucket/key) to dest (default: stdout); every chunk is verified before it is written")
    .option("--json", "machine-readable summary (requires dest)", false)
    .action(withClient(async (c, path: string, dest: string | undefined, o: JsonOpt) => {
      const key = objectKey(path, c.address);
      if (o.json && (!dest || dest === "-")) throw new O3mlError("INVALID_ARGUMENT", "--json needs a destination file (the summary goes to stdout)");
      const { info, data } = await c.get(key);
      const bar = progressFor(`get ${key}`, Number(info.size), o.json || !dest);
      const counted = Readable.from((async function* () {
        for await (const b of data) {
          bar.tick(b.byteLength);
          yield b;
        }
      })());
      if (!dest || dest === "-") {
        await pipeline(counted, process.stdout);
        return;
      }
      // Write beside the destination and rename at the end: no half-written file on failure.
      const tmp = `${dest}.o3ml-partial`;
      try {
        await pipeline(counted, createWriteStream(tmp));
        await rename(tmp, dest);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      } finally {
        bar.stop();
      }
      emit(o, infoJson(info), () => `${dest}  ${formatBytes(Number(info.size))}  ${info.cid}`);
    }));

  program
    .command("ls [prefix]")
    .description("list objects under a key prefix (or o3://bucket/prefix)")
    .option("--json", "machine-readable output (one JSON array)", false)
    .action(withClient(async (c, prefix: string | undefined, o: JsonOpt) => {
      const all: ReturnType<typeof infoJson>[] = [];
      for await (const i of c.listAll(keyPrefix(prefix ?? "", c.address))) all.push(infoJson(i));
      emit(o, all, () => all.map((i) => `${i.created}  ${formatBytes(i.size).padStart(10)}  ${i.key}${i.problem ? `  DAMAGED: ${i.problem}` : ""}`).join("\n") || "(no objects)");
      const damaged = all.filter((i) => i.problem).length;
      if (damaged) process.stderr.write(`o3ml: ${damaged} listed object(s) are damaged; run 'o3ml verify' for details\n`);
    }));

  program
    .command("stat <key>")
    .description("show an object's size, content identifier and hashes (<key>: a key or o3://bucket/key)")
    .option("--json", "machine-readable output", false)
    .action(withClient(async (c, path: string, o: JsonOpt) => {
      const i = infoJson(await c.stat(objectKey(path, c.address)));
      emit(o, i, () => Object.entries(i).map(([k, v]) => `${k.padEnd(12)} ${typeof v === "object" ? JSON.stringify(v) : v}`).join("\n"));
    }));

  program
    .command("rm <key>")
    .description("delete object <key> (a key or o3://bucket/key; its data is reclaimed by 'o3ml gc')")
    .option("--json", "machine-readable output", false)
    .action(withClient(async (c, path: string, o: JsonOpt) => {
      const key = objectKey(path, c.address);
      const { existed } = await c.delete(key);
      if (!existed) throw new O3mlError("NOT_FOUND", `no object ${key}; nothing was deleted`, { key });
      emit(o, { key, deleted: true }, () => `deleted ${key}`);
    }));
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (err) {
    throw new O3mlError("INVALID_ARGUMENT", `cannot read ${path}: ${(err as Error).message}`, {}, { cause: err });
  }
}
