import { Server } from "@grpc/grpc-js";
import { cacheBytesFromEnv } from "@o3ml/cache";
import { O3mlError } from "@o3ml/errors";
import { configFromEnv, createBlobStore, describeConfig, type BlobStore, type O3Config } from "@o3ml/o3-client";
import { grpcService, MESSAGE_LIMIT_OPTIONS } from "@o3ml/proto";
import { isLoopback, makeAuthCheck } from "./auth.js";
import { CallGate } from "./call-gate.js";
import { ChunkBuffers, chunkBufferCount } from "./colocation/chunk-buffers.js";
import { Host, keepSavedFromEnv } from "./colocation/host.js";
import { KnownBlobs } from "@o3ml/repository";
import { createLogger, type Logger } from "./logger.js";
import { meteredStore, requestCounter } from "./metered-store.js";
import { ServiceMetrics } from "./metrics.js";
import { ObjectRepository } from "./object-repository.js";
import { objectService } from "./object-service.js";
import { registerCheckpoints } from "./checkpoints/register.js";
import { registerDatasets } from "./datasets/register.js";
import { registerAdmin } from "./gc/register.js";
import { o3mlHome } from "./home.js";
import { bindOwnerOnly, claimSocketPath, parseListen } from "./listen-address.js";
import { ServiceMetadata } from "./metadata/service-metadata.js";
import { registerMetadata } from "./metadata/register.js";
import { DEFAULTS, parseHostPort, type ServiceOptions } from "./service-options.js";
import { Readiness } from "./readiness.js";
import { serverCredentials } from "./server-tls.js";

export interface RunningService {
  /** host:port actually bound, or unix:/path for a unix socket. */
  address: string;
  metricsPort?: number;
  store: BlobStore;
  metrics: ServiceMetrics;
  metadata: ServiceMetadata;
  /**
   * Drains, then stops: from now on grpc.health.v1 says NOT_SERVING and new
   * calls are refused with UNAVAILABLE; running calls get up to
   * `drainSeconds` (the option) to end, then whatever still runs is cut off
   * and the index and store are closed. Resolves to how many calls were cut off.
   */
  stop(): Promise<{ cutOff: number }>;
  /** Calls running now (health checks aside). */
  inFlight(): number;
}

/**
 * Starts the storage service: opens the store `deps.config` names (the
 * environment's by default), checks the bucket (a missing one stops the start
 * unless `createBucket`), and serves gRPC. A store that is unreachable at start
 * is logged, not fatal: requests then fail with a
 * clear error naming the endpoint, and succeed once it is back. What to run
 * when no endpoint is configured is the caller's choice (`o3ml serve` starts
 * the local stand-in, packages/o3ml/src/serve-store.ts).
 */
export async function startService(
  partial: Partial<ServiceOptions> = {},
  deps: {
    config?: O3Config;
    log?: Logger;
    /** The store is thrown away when the service stops (the embedded stand-in): so is its metadata index. */
    throwawayStore?: boolean;
  } = {},
): Promise<RunningService> {
  const opts: ServiceOptions = { ...DEFAULTS, ...partial };
  const log = deps.log ?? createLogger();
  const listenAt = parseListen(opts.listen, "--listen");
  // A unix socket is as local as loopback, and its file is its owner's alone (listen-address.ts).
  if (listenAt.kind === "tcp" && !isLoopback(listenAt.host) && !opts.token) {
    throw new O3mlError(
      "FAILED_PRECONDITION",
      `refusing to serve on ${opts.listen} without a token: ${listenAt.host} is not a loopback address (only 127.0.0.0/8, ::1 and localhost are; ` +
        `host names are not resolved for this check). Set O3ML_TOKEN, or listen on 127.0.0.1 or a unix socket`,
    );
  }
  // Read the TLS files before anything starts, so a bad path fails fast and leaks nothing.
  const creds = serverCredentials(opts.tls);
  // What has started so far, stopped in reverse order when a later step fails: a failed
  // start must leave no port, timer or database open, or `o3ml serve` would report the
  // failure and then keep running.
  const started: (() => unknown)[] = [];
  const giveUp = async (err: unknown): Promise<never> => {
    for (const stop of started.reverse()) await Promise.resolve().then(stop).catch(() => {});
    throw err;
  };
  const config = deps.config ?? configFromEnv();
  const metrics = new ServiceMetrics();
  const store = meteredStore(createBlobStore(config, { onRequest: requestCounter(metrics) }), metrics);
  started.push(() => store.close());
  const readiness = new Readiness(store, opts.createBucket, log);
  started.push(() => readiness.close());
  try {
    await store.ensureBucket({ create: opts.createBucket });
    readiness.storeAnswered();
  } catch (err) {
    const e = O3mlError.from(err);
    if (e.code === "INVALID_ARGUMENT") return giveUp(e);
    // A store that answers without the bucket will not grow one by waiting: say
    // so at start, not on every call of a service that looks healthy.
    if (e.code === "FAILED_PRECONDITION") {
      return giveUp(new O3mlError("FAILED_PRECONDITION", `${e.message}, or start the service with --create-bucket`, e.details, { cause: err }));
    }
    log.warn({ code: e.code }, `the store is not ready yet: ${e.message}`);
    readiness.watchStore();
  }
  const known = new KnownBlobs(store);
  // The chunks every upload of this service holds in memory at once, together (chunk-buffers.ts).
  const chunks = new ChunkBuffers(chunkBufferCount(opts.chunkSize));
  const repo = new ObjectRepository(store, known, opts, log, chunks);
  const ctx = { auth: makeAuthCheck(opts.token), log, metrics };

  // The message limit every client holds to too (proto/o3ml/v1/limits.proto): a dataset manifest travels whole.
  const gate = new CallGate();
  const server = new Server({ ...MESSAGE_LIMIT_OPTIONS, interceptors: [gate.interceptor] });
  started.push(() => server.forceShutdown());
  const home = o3mlHome();
  // The cache cap is read now: a bad O3ML_CACHE_BYTES stops the start.
  let hostFiles: Host;
  try {
    hostFiles = new Host(home, cacheBytesFromEnv(), store, { config, concurrency: opts.concurrency, metrics }, log, keepSavedFromEnv(), chunks);
  } catch (err) {
    return giveUp(err);
  }
  started.push(() => hostFiles.close());
  server.addService(grpcService("ObjectService"), objectService(repo, hostFiles, ctx));
  let metadata: ServiceMetadata;
  try {
    metadata = await ServiceMetadata.open(store, home, { standin: !!deps.throwawayStore });
  } catch (err) {
    return giveUp(err);
  }
  started.push(() => metadata.close());
  const serviceDeps = { store, known, objects: repo, ctx, opts, home, metadata, host: hostFiles };
  const extras = [registerCheckpoints(server, serviceDeps), registerDatasets(server, serviceDeps), registerAdmin(server, serviceDeps), registerMetadata(server, serviceDeps)];
  started.push(async () => {
    for (const e of extras) await e.close();
  });
  readiness.health.addToServer(server);
  const bind = (target: string) =>
    new Promise<number>((resolve, reject) => server.bindAsync(target, creds, (err, p) => (err ? reject(listenError(err, opts.listen, "--listen")) : resolve(p))));
  let address: string;
  if (listenAt.kind === "unix") {
    const path = listenAt.path;
    await claimSocketPath(path).catch(giveUp);
    await bindOwnerOnly(path, () => bind(`unix:${path}`)).catch(giveUp);
    address = `unix:${path}`;
  } else {
    address = `${listenAt.host}:${await bind(`${listenAt.host}:${listenAt.port}`).catch(giveUp)}`;
  }
  let metricsServer: Awaited<ReturnType<ServiceMetrics["listen"]>> | undefined;
  if (opts.metricsListen) {
    const listen = opts.metricsListen;
    metricsServer = await (async () => {
      const m = parseHostPort(listen, "--metrics");
      return metrics.listen(m.host, m.port).catch((err: unknown) => Promise.reject(listenError(err, listen, "--metrics")));
    })().catch(giveUp);
  }
  log.info({ address, tls: opts.tls ? (opts.tls.clientCa ? "mutual" : "server") : "off", store: describeConfig(config), bucket: config.bucket, metricsPort: metricsServer?.port }, "o3ml storage service listening");

  return {
    address,
    metricsPort: metricsServer?.port,
    store,
    metrics,
    metadata,
    inFlight: () => gate.inFlight,
    async stop() {
      // Graceful: NOT_SERVING and no new calls, running ones finish (bounded by --drain-seconds), then release the store.
      readiness.drain();
      if (gate.inFlight > 0) log.info({ inFlight: gate.inFlight, drainSeconds: opts.drainSeconds }, "draining: waiting for running calls to end");
      const cutOff = await gate.drain(opts.drainSeconds * 1000);
      if (cutOff > 0) log.warn({ cutOff, drainSeconds: opts.drainSeconds }, `${cutOff} calls were still running after ${opts.drainSeconds} s of draining: cutting them off`);
      // A call counts as ended once its status is handed to grpc-js, not once it has reached the client:
      // a graceful shutdown lets sessions flush what is written. What can keep one open now is a
      // health Watch, which never ends by itself, so that wait is bounded; calls past the drain are cut at once.
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => (server.forceShutdown(), resolve()), cutOff > 0 ? 0 : SESSION_FLUSH_MS);
        server.tryShutdown(() => (clearTimeout(t), resolve()));
      });
      readiness.close();
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.server.close(() => resolve()) : resolve()));
      for (const e of extras) await e.close();
      await hostFiles.close();
      await metadata.close();
      store.close();
      return { cutOff };
    },
  };
}

/** How long a stop waits for connections to flush the last answers after the drain. */
const SESSION_FLUSH_MS = 5000;

/** A clear error for an address the service cannot listen on, saying what to do. */
function listenError(err: unknown, listen: string, flag: string): O3mlError {
  const text = err instanceof Error ? err.message : String(err);
  const fix = (why: string) => new O3mlError("FAILED_PRECONDITION", `cannot listen on ${listen}: ${why}`, { address: listen }, { cause: err });
  if (/EADDRINUSE/.test(text)) return fix(`the address is already in use (another o3ml serve or another program holds it); stop that program, or give another port with ${flag} host:port`);
  if (/EACCES/.test(text)) return fix(`permission denied (ports below 1024 need privileges); give a port of 1024 or more with ${flag} host:port`);
  if (/EADDRNOTAVAIL|Name resolution failed|ENOTFOUND/.test(text)) return fix(`this host has no such address; give one of its own addresses (such as 127.0.0.1) with ${flag} host:port`);
  return O3mlError.from(err, `listening on ${listen}`);
}
