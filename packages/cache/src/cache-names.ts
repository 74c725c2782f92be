/**
 * The file names of a cache directory (see README.md). CIDs o3ml writes are
 * CIDv1 raw sha2-256 in base32: "b" followed by lowercase base32, never a dot,
 * so entries, pins, locks and temp files cannot be confused with each other.
 */
import { join } from "node:path";

const CID_NAME = /^b[a-z2-7]{20,120}$/;
const PIN_NAME = /^(b[a-z2-7]{20,120})\.pin\.(\d+)\.(\d+)$/;
const LOCK_NAME = /^(b[a-z2-7]{20,120})\.evict$/;
const TEMP_NAME = /^\.tmp\.(\d+)\.[0-9a-f]+$/;

export type CacheName =
  | { kind: "entry"; cid: string }
  | { kind: "pin"; cid: string; pid: number; instance: number }
  | { kind: "lock"; cid: string }
  | { kind: "temp"; pid: number }
  | { kind: "other" };

export function parseCacheName(name: string): CacheName {
  if (CID_NAME.test(name)) return { kind: "entry", cid: name };
  let m = PIN_NAME.exec(name);
  if (m) return { kind: "pin", cid: m[1]!, pid: Number(m[2]), instance: Number(m[3]) };
  m = LOCK_NAME.exec(name);
  if (m) return { kind: "lock", cid: m[1]! };
  m = TEMP_NAME.exec(name);
  if (m) return { kind: "temp", pid: Number(m[1]) };
  return { kind: "other" };
}

export const entryPath = (dir: string, cid: string) => join(dir, cid);
export const pinPath = (dir: string, cid: string, pid: number, instance: number) => join(dir, `${cid}.pin.${pid}.${instance}`);
export const lockPath = (dir: string, cid: string) => join(dir, `${cid}.evict`);
export const tempPath = (dir: string, pid: number, random: string) => join(dir, `.tmp.${pid}.${random}`);
