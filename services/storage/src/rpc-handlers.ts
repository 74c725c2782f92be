import { inspect } from "node:util";
import {
  Metadata,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type ServiceError,
} from "@grpc/grpc-js";
import { GRPC_STATUS, O3mlError, type ErrorCodeName } from "@o3ml/errors";
import type { Logger } from "./logger.js";
import type { ServiceMetrics } from "./metrics.js";

export interface RpcContext {
  auth: (md: Metadata) => void;
  log: Logger;
  metrics: ServiceMetrics;
}

/**
 * The one place where errors become gRPC statuses (connect-es's interceptor
 * idea): every handler is wrapped so that authentication, timing, logging and
 * the O3mlError → status + `o3ml-code` trailer mapping happen exactly once.
 */
export function toServiceError(err: unknown): ServiceError {
  const e = O3mlError.from(err);
  const md = new Metadata();
  md.set("o3ml-code", e.code);
  return Object.assign(new Error(e.message), { code: GRPC_STATUS[e.code], details: e.message, metadata: md });
}

/**
 * `expected`: codes that are a routine answer of this method rather than a
 * problem (NOT_FOUND for Stat: clients ask whether a key exists), logged at
 * debug level instead of as a warning.
 */
export interface HandlerOptions {
  expected?: readonly ErrorCodeName[];
}

/** What an internal error came from, for the log: a cause that is no Error prints whole, not as "[object Object]". */
function describeCause(e: O3mlError): string {
  const cause = e.cause ?? e.stack;
  return typeof cause === "string" ? cause : inspect(cause);
}

function finish(ctx: RpcContext, method: string, started: number, err?: unknown, opts: HandlerOptions = {}): void {
  const code = err === undefined ? "OK" : O3mlError.from(err).code;
  ctx.metrics.rpcDuration.observe({ method, code }, (performance.now() - started) / 1000);
  if (err !== undefined) {
    const e = O3mlError.from(err);
    const level = e.code === "INTERNAL" ? "error" : opts.expected?.includes(e.code) ? "debug" : "warn";
    ctx.log[level]({ method, code: e.code, details: e.details, cause: e.code === "INTERNAL" ? describeCause(e) : undefined }, e.message);
  }
}

export function unary<Req, Res>(ctx: RpcContext, method: string, fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>, opts: HandlerOptions = {}) {
  return (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => {
    const started = performance.now();
    (async () => {
      ctx.auth(call.metadata);
      return fn(call.request, call);
    })().then(
      (res) => (finish(ctx, method, started), cb(null, res)),
      (err) => (finish(ctx, method, started, err, opts), cb(toServiceError(err))),
    );
  };
}

export function clientStream<Req, Res>(ctx: RpcContext, method: string, fn: (call: ServerReadableStream<Req, Res>) => Promise<Res>) {
  return (call: ServerReadableStream<Req, Res>, cb: sendUnaryData<Res>) => {
    const started = performance.now();
    (async () => {
      ctx.auth(call.metadata);
      return fn(call);
    })().then(
      (res) => (finish(ctx, method, started), cb(null, res)),
      (err) => {
        finish(ctx, method, started, err);
        // Drain what the client still sends so the call can end cleanly.
        call.resume();
        cb(toServiceError(err));
      },
    );
  };
}

export function serverStream<Req, Res>(ctx: RpcContext, method: string, fn: (req: Req, call: ServerWritableStream<Req, Res>) => Promise<void>) {
  return (call: ServerWritableStream<Req, Res>) => {
    const started = performance.now();
    (async () => {
      ctx.auth(call.metadata);
      await fn(call.request, call);
    })().then(
      () => (finish(ctx, method, started), call.end()),
      (err) => {
        finish(ctx, method, started, err);
        if (!call.cancelled) call.emit("error", toServiceError(err));
      },
    );
  };
}

/** Writes with backpressure: waits for 'drain' when the transport buffer is full. */
export async function writeMessage<Res>(call: ServerWritableStream<unknown, Res>, msg: Res): Promise<void> {
  if (call.cancelled) throw new O3mlError("CANCELLED", "the client cancelled the call");
  if (!call.write(msg)) {
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => (call.off("cancelled", onCancel), resolve());
      const onCancel = () => (call.off("drain", onDrain), reject(new O3mlError("CANCELLED", "the client cancelled the call")));
      call.once("drain", onDrain);
      call.once("cancelled", onCancel);
    });
  }
}
