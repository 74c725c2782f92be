import { cidOfDigest, createSha256, toHex, type Sha256 } from "@o3ml/integrity";
import type { WireShard } from "@o3ml/storage-service";
import { BLOCK, headerName } from "./tar-format.js";

/**
 * Checks a shard's bytes as they stream past: the whole against the CID,
 * and each sample the manifest lists against its range — the tar header at
 * its offset names one of its members, and the range hashes to its digest.
 * Returns the problems found (empty when the shard is sound).
 */
export class ShardCheck {
  private readonly whole: Sha256 = createSha256();
  private readonly samples: WireShard["samples"];
  private next = 0;
  private current: { hash: Sha256; head: Buffer[]; headBytes: number; end: number } | undefined;
  private pos = 0;
  readonly problems: string[] = [];

  constructor(private readonly shard: WireShard) {
    this.samples = [...shard.samples].sort((a, b) => a.offset - b.offset);
  }

  update(chunk: Uint8Array): void {
    this.whole.update(chunk);
    let at = 0;
    while (at < chunk.byteLength) {
      if (!this.current) {
        const s = this.samples[this.next];
        if (!s || s.offset >= this.pos + chunk.byteLength - at) break;
        if (s.offset > this.pos) {
          at += s.offset - this.pos;
          this.pos = s.offset;
        }
        this.current = { hash: createSha256(), head: [], headBytes: 0, end: s.offset + s.size };
      }
      const c = this.current;
      const take = Math.min(chunk.byteLength - at, c.end - this.pos);
      const part = chunk.subarray(at, at + take);
      c.hash.update(part);
      if (c.headBytes < BLOCK) {
        c.head.push(Buffer.from(part.subarray(0, BLOCK - c.headBytes)));
        c.headBytes += Math.min(part.byteLength, BLOCK - c.headBytes);
      }
      at += take;
      this.pos += take;
      if (this.pos === c.end) this.endSample();
    }
    this.pos += chunk.byteLength - at;
  }

  /** Finishes the check; `size` is the number of bytes received. */
  finish(size: number): string[] {
    if (size !== this.shard.size) this.problems.push(`${size} bytes received, the manifest says ${this.shard.size}`);
    const cid = cidOfDigest(this.whole.digest());
    if (cid !== this.shard.cid) this.problems.unshift(`its bytes hash to ${cid}, not to its CID ${this.shard.cid}`);
    const missing = this.samples.length - this.next;
    if (missing > 0) this.problems.push(`${missing} sample(s) lie past the end of the shard`);
    return this.problems;
  }

  private endSample(): void {
    const s = this.samples[this.next++]!;
    const c = this.current!;
    this.current = undefined;
    const name = c.headBytes === BLOCK ? headerName(Buffer.concat(c.head)) : "";
    if (!name.startsWith(`${s.key}.`)) this.problems.push(`sample ${s.key}: the tar member at offset ${s.offset} is ${JSON.stringify(name)}, not one of its members`);
    if (s.sha256.length === 32 && toHex(c.hash.digest()) !== toHex(s.sha256)) this.problems.push(`sample ${s.key}: its bytes do not match the digest the manifest records`);
  }
}
