import { resolveNumbers } from "./numeric-options.js";

// The HTTP settings of every request to the store, in a module of their own: the fetch threads'
// socket reader (socket-get.ts) takes them without loading the AWS SDK.

export interface HttpOptions {
  /** Sockets kept per endpoint (default 64): parallel part uploads and ranged reads each hold one. */
  maxSockets?: number;
  /** Give up connecting after this many ms (default 3000), so a dead endpoint fails fast. */
  connectionTimeoutMs?: number;
  /**
   * Longest wait from sending a request to its response headers, body upload
   * included (default 120000). Generous because one request may carry a
   * 64 MiB body over a slow link.
   */
  requestTimeoutMs?: number;
  /**
   * A response body that delivers nothing for this long while it is being
   * read fails (default 30000). Enforced while reading, not as a socket idle
   * timeout: see guardIdle in body-stream.ts.
   */
  idleTimeoutMs?: number;
}

export const HTTP_DEFAULTS: Required<HttpOptions> = Object.freeze({
  maxSockets: 64,
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 120_000,
  idleTimeoutMs: 30_000,
});

/** The options with defaults filled in; INVALID_ARGUMENT for values that are not sensible integers. */
export function resolveHttp(options: HttpOptions = {}): Required<HttpOptions> {
  return resolveNumbers(HTTP_DEFAULTS, options, { maxSockets: 1 });
}
