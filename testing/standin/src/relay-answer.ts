import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline, Readable, type Transform } from "node:stream";
import { flipOneBit, stallBody, truncateBody } from "./fault-streams.js";
import type { FaultDecision, FaultInjector } from "./faults.js";
import type { UpstreamAnswer } from "./upstream-answer.js";

/**
 * Sends an upstream answer to the client, streaming its body and applying
 * the body faults of `fault` on the way. Body faults that cannot apply (a
 * bit-flip on an empty body, a truncation that would keep everything) are not
 * injected and not counted.
 */
export async function relayAnswer(
  req: IncomingMessage,
  res: ServerResponse,
  answer: UpstreamAnswer,
  fault: FaultDecision,
  faults: FaultInjector,
): Promise<void> {
  const declared = answer.headers["content-length"];
  const length = declared === undefined ? NaN : Number(declared);
  const bodyless = req.method === "HEAD" || answer.status === 204 || answer.status === 304 || length === 0;
  if (bodyless) {
    if (fault.stallMs !== undefined) {
      faults.count("stall");
      await sleep(fault.stallMs);
    }
    if (!Buffer.isBuffer(answer.body)) answer.body.resume();
    res.writeHead(answer.status, answer.headers);
    res.end();
    return;
  }
  const stages: Transform[] = [];
  let cut = false;
  if (fault.bitFlip) {
    const { random } = fault.bitFlip;
    const offset = Number.isFinite(length) ? Math.floor(random() * length) : undefined;
    stages.push(flipOneBit(offset, random, () => faults.count("bit-flip")));
  }
  if (fault.truncate) {
    const keep = fault.truncate.keepBytes ?? (Number.isFinite(length) ? Math.floor(length / 2) : 0);
    stages.push(
      truncateBody(keep, () => {
        cut = true;
        faults.count("truncate");
      }),
    );
  }
  if (fault.stallMs !== undefined) stages.push(stallBody(fault.stallMs, () => faults.count("stall")));
  // Taken now: a finished response lets go of its socket.
  const socket = res.socket;
  res.writeHead(answer.status, answer.headers);
  const source = Buffer.isBuffer(answer.body) ? Readable.from([answer.body]) : answer.body;
  await new Promise<void>((resolve) => {
    pipeline([source, ...stages, res], () => {
      // The body stopped short of its Content-Length: closing the connection
      // is what tells the client (it would otherwise wait for the rest).
      if (cut) socket?.destroy();
      resolve();
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
