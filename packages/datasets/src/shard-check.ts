import { cidOfDigest, createSha256, toHex, type Sha256 } from "@o3ml/integrity";
import type { WireShard } from "@o3ml/client";
import { TarListing } from "./tar-format.js";

/**
 * Checks a shard's bytes as they stream past: the whole against the CID,
 * each sample the manifest lists against its range — the range hashes to
 * its digest, and the tar members whose headers lie in it are its members —
 * and the whole as a readable tar archive.
 * `finish` returns the problems found (empty when the shard is sound).
 */
export class ShardCheck {
  private readonly whole: Sha256 = createSha256();
  private readonly listing = new TarListing();
  private readonly samples: WireShard["samples"];
  private next = 0;
  private current: { hash: Sha256; end: number } | undefined;
  private pos = 0;
  readonly problems: string[] = [];

  constructor(private readonly shard: WireShard) {
    this.samples = [...shard.samples].sort((a, b) => a.offset - b.offset);
  }

  async update(chunk: Uint8Array): Promise<void> {
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
        this.current = { hash: createSha256(), end: s.offset + s.size };
      }
      const c = this.current;
      const take = Math.min(chunk.byteLength - at, c.end - this.pos);
      c.hash.update(chunk.subarray(at, at + take));
      at += take;
      this.pos += take;
      if (this.pos === c.end) this.endSample();
    }
    this.pos += chunk.byteLength - at;
    await this.listing.write(chunk);
  }

  /** Finishes the check; `size` is the number of bytes received. */
  async finish(size: number): Promise<string[]> {
    if (size !== this.shard.size) this.problems.push(`${size} bytes received, the manifest says ${this.shard.size}`);
    const cid = cidOfDigest(this.whole.digest());
    if (cid !== this.shard.cid) this.problems.unshift(`its bytes hash to ${cid}, not to its CID ${this.shard.cid}`);
    const missing = this.samples.length - this.next;
    if (missing > 0) this.problems.push(`${missing} sample(s) lie past the end of the shard`);
    const unreadable = await this.listing.end();
    if (unreadable) this.problems.push(`it is not a readable tar archive (${unreadable.message})`);
    else this.checkMembers();
    return this.problems;
  }

  private endSample(): void {
    const s = this.samples[this.next++]!;
    const c = this.current!;
    this.current = undefined;
    if (s.sha256.length === 32 && toHex(c.hash.digest()) !== toHex(s.sha256)) this.problems.push(`sample ${s.key}: its bytes do not match the digest the manifest records`);
  }

  /** Each sample's range holds at least one member, and only members named `<key>.<ext>`. */
  private checkMembers(): void {
    const members = this.listing.members;
    let m = 0;
    for (const s of this.samples) {
      while (m < members.length && members[m]!.offset < s.offset) m++;
      let found = 0;
      for (; m < members.length && members[m]!.offset < s.offset + s.size; m++, found++) {
        const { name, offset } = members[m]!;
        if (!name.startsWith(`${s.key}.`)) this.problems.push(`sample ${s.key}: the tar member at offset ${offset} is ${JSON.stringify(name)}, not one of its members`);
      }
      if (found === 0) this.problems.push(`sample ${s.key}: no tar member starts in its range [${s.offset}, ${s.offset + s.size})`);
    }
  }
}
