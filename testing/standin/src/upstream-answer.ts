import type { OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";

/**
 * The upstream's answer to one request, before the O3 profile is applied:
 * a streamed body straight from the upstream connection, or a small buffered
 * one (XML the layer rewrote or produced itself).
 */
export interface UpstreamAnswer {
  status: number;
  /** Lower-case names, hop-by-hop headers already removed. */
  headers: OutgoingHttpHeaders;
  body: Readable | Buffer;
  /** Releases the upstream connection when the answer will not be relayed. */
  discard(): void;
}

/** A buffered answer. */
export function bufferedAnswer(status: number, headers: OutgoingHttpHeaders, body: Buffer): UpstreamAnswer {
  return { status, headers: { ...headers, "content-length": body.length }, body, discard: () => undefined };
}

/** Reads a streamed answer into memory; only for small XML documents. */
export async function bufferAnswer(answer: UpstreamAnswer): Promise<UpstreamAnswer> {
  if (Buffer.isBuffer(answer.body)) return answer;
  const chunks: Buffer[] = [];
  for await (const chunk of answer.body) chunks.push(chunk as Buffer);
  const headers = { ...answer.headers };
  delete headers["transfer-encoding"];
  return bufferedAnswer(answer.status, headers, Buffer.concat(chunks));
}
