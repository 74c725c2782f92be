import { StandardRetryStrategy, type StandardRetryStrategyOptions } from "@smithy/util-retry";
import { resolveNumbers } from "./numeric-options.js";

// Named through @smithy/util-retry so that no undeclared package is imported.
type StandardRetryBackoffStrategy = NonNullable<StandardRetryStrategyOptions["backoff"]>;
type StandardRetryToken = Parameters<StandardRetryStrategy["refreshRetryTokenForRetry"]>[0];
type RetryErrorInfo = Parameters<StandardRetryStrategy["refreshRetryTokenForRetry"]>[1];

export interface RetryOptions {
  /** Attempts per request, first one included (default 5). */
  maxAttempts?: number;
  /** Backoff base in ms: retry n waits up to base × 2^n (default 100). */
  baseDelayMs?: number;
  /** Cap of one backoff wait in ms (default 5000). */
  maxDelayMs?: number;
  /**
   * Attempts when the endpoint cannot be connected to at all (refused, no
   * such host, connect timeout), default 2. A wrong O3ML_ENDPOINT or a
   * stopped server should be reported within a second, not after minutes.
   */
  connectAttempts?: number;
}

export const RETRY_DEFAULTS: Required<RetryOptions> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  connectAttempts: 2,
});

/** The options with defaults filled in; INVALID_ARGUMENT for values that are not sensible integers. */
export function resolveRetry(options: RetryOptions = {}): Required<RetryOptions> {
  return resolveNumbers(RETRY_DEFAULTS, options, { maxAttempts: 1, connectAttempts: 1 });
}

/** Errors that mean no connection could be made, as opposed to one that broke. */
const CONNECT_ERROR_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

export function isConnectError(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string" && CONNECT_ERROR_CODES.has(code)) return true;
    // @smithy/node-http-handler's connect timeout carries no errno, only this text.
    if (typeof message === "string" && message.includes("did not establish a connection")) return true;
  }
  return false;
}

/**
 * Capped exponential backoff with full jitter: a uniformly random wait in
 * [0, min(cap, base × 2^attempt)). The SDK calls setDelayBase just before each
 * computation, with its own larger base for throttling (SlowDown) errors.
 */
export class FullJitterBackoff implements StandardRetryBackoffStrategy {
  private base: number;

  constructor(
    base: number,
    private readonly cap: number,
  ) {
    this.base = base;
  }

  setDelayBase(delay: number): void {
    this.base = delay;
  }

  computeNextBackoffDelay(attempt: number): number {
    return Math.floor(Math.random() * Math.min(this.cap, this.base * 2 ** attempt));
  }
}

/**
 * The SDK's standard retry strategy (retry token bucket, error
 * classification) with o3ml's backoff, plus one rule of its own: connection
 * failures get `connectAttempts`, not `maxAttempts`.
 *
 * What the SDK classifies as retryable, and so what is retried here: HTTP
 * 500/502/503/504, throttling (SlowDown, 429), request timeouts, connection
 * resets and broken pipes. Every other 4xx fails at once.
 */
export class O3RetryStrategy extends StandardRetryStrategy {
  private readonly connectAttempts: number;

  constructor(options: RetryOptions = {}) {
    const o = resolveRetry(options);
    super({ maxAttempts: o.maxAttempts, baseDelay: o.baseDelayMs, backoff: new FullJitterBackoff(o.baseDelayMs, o.maxDelayMs) });
    this.connectAttempts = Math.min(o.connectAttempts, o.maxAttempts);
  }

  override async refreshRetryTokenForRetry(token: StandardRetryToken, errorInfo: RetryErrorInfo): Promise<StandardRetryToken> {
    if (isConnectError(errorInfo.error) && token.getRetryCount() + 1 >= this.connectAttempts) {
      // The message mirrors the SDK's own refusal; the caller rethrows the original error.
      throw new Error("No retry token available");
    }
    return super.refreshRetryTokenForRetry(token, errorInfo);
  }
}
