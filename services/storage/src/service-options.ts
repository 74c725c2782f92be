import { O3mlError } from "@o3ml/errors";
import type { TlsFiles } from "./server-tls.js";

export interface ServiceOptions {
  /** host:port or unix:/path to serve gRPC on; 127.0.0.1:7433 by default. Port 0 picks a free port. */
  listen: string;
  /** Bearer token clients must send; required when `listen` is not a loopback address. */
  token?: string;
  /** Serve gRPC over TLS (mutual TLS when `clientCa` is set); plaintext when undefined. */
  tls?: TlsFiles;
  /** host:port for the Prometheus /metrics endpoint; off when undefined. */
  metricsListen?: string;
  /** Create the bucket when it does not exist (always done for the local stand-in). */
  createBucket: boolean;
  /** Size of the content-addressed blobs objects are cut into. */
  chunkSize: number;
  /**
   * Store requests one call keeps in flight (blob uploads of a put or save,
   * cache fills of a co-located load), and the cache fills the fetch threads
   * run at once for all calls together (fetch-pool.ts). Memory is bounded by
   * about twice this many blobs; 8 keeps a store on loopback or a LAN busy.
   */
  concurrency: number;
  readPrefetch: number;
  /** How long a stop waits for running calls (a streamed put, a checkpoint save) before it cuts them off. */
  drainSeconds: number;
}

export const DEFAULTS: ServiceOptions = {
  listen: "127.0.0.1:7433",
  createBucket: false,
  chunkSize: 8 * 1024 * 1024,
  concurrency: 8,
  // Blobs fetched ahead of the one being sent: two keep the store busy while the
  // client drains one; more only adds resident memory (the 2 GiB stream test).
  readPrefetch: 2,
  drainSeconds: 30,
};

/** Splits "host:port" (or "[v6]:port"), with a clear error for anything else. */
export function parseHostPort(value: string, what: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new O3mlError("INVALID_ARGUMENT", `${what} ${JSON.stringify(value)} is not host:port (for example 127.0.0.1:7433)`);
  }
  return { host: m[1]!, port };
}
