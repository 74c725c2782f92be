import type { ServerResponse } from "node:http";
import { bufferedAnswer, type UpstreamAnswer } from "./upstream-answer.js";
import { xmlEscape } from "./xml-text.js";

/**
 * An S3 error document, as S3 (and O3) put it in the body of a failed
 * response; `extra` adds elements some errors carry (`Condition` on 412).
 */
export function s3ErrorXml(code: string, message: string, resource?: string, extra: Record<string, string> = {}): string {
  const res = resource === undefined ? "" : `<Resource>${xmlEscape(resource)}</Resource>`;
  const more = Object.entries(extra).map(([name, value]) => `<${name}>${xmlEscape(value)}</${name}>`).join("");
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message>${res}${more}</Error>`
  );
}

/** An S3 error as an answer the layer relays like the upstream's own. */
export function s3ErrorAnswer(status: number, code: string, message: string, resource?: string, extra?: Record<string, string>): UpstreamAnswer {
  return bufferedAnswer(status, { "content-type": "application/xml" }, Buffer.from(s3ErrorXml(code, message, resource, extra)));
}

/**
 * Answers with an S3 error. When the request body has not been read (an early
 * refusal), the connection is closed afterwards: the client may still be
 * sending, or waiting for a 100 Continue that will never come, and reusing
 * that connection would mix the rest of its body into the next request.
 */
export function sendS3Error(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  opts: { resource?: string; bodyUnread?: boolean; retryAfterSeconds?: number } = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(s3ErrorXml(code, message, opts.resource));
  const headers: Record<string, string | number> = {
    "content-type": "application/xml",
    "content-length": body.length,
    "x-amz-request-id": requestId(),
  };
  if (opts.retryAfterSeconds !== undefined) headers["retry-after"] = opts.retryAfterSeconds;
  if (opts.bodyUnread) headers.connection = "close";
  res.writeHead(status, headers);
  res.end(res.req?.method === "HEAD" ? undefined : body);
}

let counter = 0;
function requestId(): string {
  counter = (counter + 1) % 0x1000000;
  return `O3P${Date.now().toString(16).toUpperCase()}${counter.toString(16).toUpperCase().padStart(6, "0")}`;
}
