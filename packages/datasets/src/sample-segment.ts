import { O3mlError } from "@o3ml/errors";
import { createSha256 } from "@o3ml/integrity";
import type { Sample, SampleMember } from "./sample.js";
import { memberLength, tarMembers } from "./tar-format.js";

/** Members in the order they are written: by extension, so the bytes do not depend on input order. */
export function orderedMembers(sample: Sample): SampleMember[] {
  return [...sample.members].sort((a, b) => (a.ext < b.ext ? -1 : a.ext > b.ext ? 1 : 0));
}

/** About the bytes the sample takes in a shard (see memberLength), for deciding when a shard is full. */
export function segmentLength(sample: Sample): number {
  return sample.members.reduce((n, m) => n + memberLength(m.size), 0);
}

/**
 * The sample's tar bytes: each member `<key>.<ext>` as tar-format writes it.
 * A member whose content does not have the size announced (a file changed
 * while being pushed) is an error, since its header is already written.
 */
export function segmentChunks(sample: Sample): AsyncGenerator<Uint8Array> {
  return tarMembers(orderedMembers(sample).map((m) => ({ name: `${sample.key}.${m.ext}`, size: m.size, content: () => contentOf(m) })));
}

async function* contentOf(m: SampleMember): AsyncGenerator<Uint8Array> {
  let seen = 0;
  if (m.bytes) {
    seen = m.bytes.byteLength;
    if (seen === m.size) yield m.bytes;
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
}

/** The sample's segment digest and length without writing it anywhere (the reuse check of a new version). */
export async function hashSegment(sample: Sample): Promise<{ sha256: Uint8Array; size: number }> {
  const h = createSha256();
  for await (const c of segmentChunks(sample)) h.update(c);
  return { sha256: h.digest(), size: h.bytes };
}
