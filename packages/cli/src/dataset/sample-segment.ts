import { O3mlError } from "@o3ml/errors";
import { createSha256 } from "@o3ml/integrity";
import type { Sample, SampleMember } from "./sample.js";
import { memberLength, paddingOf, tarHeader } from "./tar-format.js";

const ZEROS = new Uint8Array(512);

/** Members in the order they are written: by extension, so the bytes do not depend on input order. */
export function orderedMembers(sample: Sample): SampleMember[] {
  return [...sample.members].sort((a, b) => (a.ext < b.ext ? -1 : a.ext > b.ext ? 1 : 0));
}

/** Bytes the sample takes in a shard: its members' headers, contents and padding. */
export function segmentLength(sample: Sample): number {
  return sample.members.reduce((n, m) => n + memberLength(m.size), 0);
}

/**
 * The sample's tar bytes: for each member, header, content, padding. A
 * member whose content does not have the size announced (a file changed
 * while being pushed) is an error, since its header is already written.
 */
export async function* segmentChunks(sample: Sample): AsyncGenerator<Uint8Array> {
  for (const m of orderedMembers(sample)) {
    yield tarHeader(`${sample.key}.${m.ext}`, m.size);
    let seen = 0;
    if (m.bytes) {
      seen = m.bytes.byteLength;
      yield m.bytes;
    } else if (m.open) {
      for await (const piece of m.open()) {
        seen += piece.byteLength;
        if (seen > m.size) break;
        yield piece;
      }
    }
    if (seen !== m.size) {
      throw new O3mlError("ABORTED", `${m.origin} changed while it was being read (${m.size} bytes when listed, ${seen > m.size ? "more" : seen} now); push again once the input is stable`, {
        path: m.origin,
      });
    }
    const pad = paddingOf(m.size);
    if (pad) yield ZEROS.subarray(0, pad);
  }
}

/** The sample's segment digest and length without writing it anywhere (the reuse check of a new version). */
export async function hashSegment(sample: Sample): Promise<{ sha256: Uint8Array; size: number }> {
  const h = createSha256();
  for await (const c of segmentChunks(sample)) h.update(c);
  return { sha256: h.digest(), size: h.bytes };
}
