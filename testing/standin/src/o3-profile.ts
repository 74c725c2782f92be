import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { O3mlError } from "@o3ml/errors";
import { ConditionalRequests } from "./conditional-requests.js";
import type { FaultKind, FaultPlan } from "./fault-plan.js";
import { FaultInjector, type RuleStats } from "./faults.js";
import { NetworkState } from "./network-state.js";
import { o3ProfileHandler, type ProfileContext, type RefusalKind } from "./o3-profile-handler.js";
import { RequestSigning } from "./request-signature.js";
import { s3ClientFor } from "./s3-client-for.js";
import type { S3Server } from "./s3-server.js";
import { UpstreamForwarder } from "./upstream-forwarder.js";
import { VersioningKeeper } from "./versioning-keeper.js";

export interface O3ProfileOptions {
  /** Port on 127.0.0.1; default a free one. */
  port?: number;
  /** How long HeadObject reports `Network-State: pending` after a write; default 300 ms. */
  networkDelayMs?: number;
  /** Faults in force from the start; change them later with setFaults. */
  faults?: FaultPlan;
}

export interface O3ProfileStats {
  /** Requests received. */
  requests: number;
  /** Requests refused the way O3 refuses them, by reason. */
  refused: Record<RefusalKind, number>;
  /** Faults injected, by kind, since the layer started. */
  faults: Record<FaultKind, number>;
  /** Counters of each rule of the plan in force. */
  rules: RuleStats[];
}

/** An S3 endpoint that behaves like Akave O3, in front of a real S3 server. */
export interface O3ProfileServer extends S3Server {
  readonly kind: "o3-profile";
  readonly upstream: S3Server;
  /** Replaces the fault plan; `{ rules: [] }` stops injecting. */
  setFaults(plan: FaultPlan): void;
  stats(): O3ProfileStats;
}

/**
 * Starts the O3-profile layer: an HTTP proxy on 127.0.0.1 that forwards to
 * `upstream` and reproduces Akave O3's documented deviations (docs/o3-vs-s3.md):
 * flexible-checksum headers refused, base64 ETags, versioning always on,
 * `Network-State`/`Network-Root-Cid` on HeadObject, Akave's bucket naming
 * rules; and that injects faults on demand. Clients sign with the upstream's
 * credentials and region. Stopping it leaves the upstream running.
 */
export async function startO3Profile(upstream: S3Server, opts: O3ProfileOptions = {}): Promise<O3ProfileServer> {
  const admin = s3ClientFor(upstream, { maxAttempts: 1 });
  const faults = new FaultInjector(opts.faults);
  const ctx: ProfileContext = {
    forwarder: new UpstreamForwarder(upstream.endpoint),
    admin,
    conditions: new ConditionalRequests(admin, new RequestSigning(upstream)),
    versioning: new VersioningKeeper(admin),
    network: new NetworkState(opts.networkDelayMs ?? 300),
    faults,
    counters: { requests: 0, refused: { checksum: 0, "bucket-name": 0, versioning: 0 } },
  };
  const handle = o3ProfileHandler(ctx);
  // No request timeout: large uploads and injected stalls may legitimately take long.
  const server = createServer({ requestTimeout: 0 });
  server.on("request", (req, res) => handle(req, res, false));
  server.on("checkContinue", (req, res) => handle(req, res, true));
  server.on("clientError", (_err, socket) => socket.destroy());

  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", (err) =>
      reject(new O3mlError("UNAVAILABLE", `The O3-profile layer could not listen on 127.0.0.1:${opts.port ?? 0}: ${err.message}`, {}, { cause: err })),
    );
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });

  return {
    kind: "o3-profile",
    endpoint: `http://127.0.0.1:${port}`,
    region: upstream.region,
    accessKeyId: upstream.accessKeyId,
    secretAccessKey: upstream.secretAccessKey,
    ephemeral: upstream.ephemeral,
    upstream,
    setFaults: (plan) => faults.set(plan),
    stats: () => ({ requests: ctx.counters.requests, refused: { ...ctx.counters.refused }, ...faults.stats() }),
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      ctx.forwarder.close();
      admin.destroy();
    },
  };
}
