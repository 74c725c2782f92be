import { O3mlError } from "@o3ml/errors";
import type { o3ml } from "@o3ml/proto";
import type { WireGcProgress, WireGcReport, WireStorageUsage } from "./messages.js";
import { RpcClient } from "./rpc-client.js";

/** A TypeScript client of the AdminService. */
export class AdminClient extends RpcClient {
  constructor(address?: string, token?: string) {
    super("AdminService", address, token);
  }

  /** Runs a garbage collection; `graceSeconds` undefined = the service's default (an hour). */
  async collectGarbage(opts: { dryRun?: boolean; graceSeconds?: number; onProgress?: (p: WireGcProgress) => void } = {}): Promise<WireGcReport> {
    const req = { dryRun: !!opts.dryRun, graceSeconds: opts.graceSeconds ?? 0, hasGraceSeconds: opts.graceSeconds !== undefined };
    for await (const m of this.serverStream<o3ml.v1.CollectGarbageResponse>("collectGarbage", req)) {
      if (m.progress) opts.onProgress?.(m.progress);
      if (m.report) return m.report;
    }
    throw new O3mlError("INTERNAL", "gc: the service ended the call without a report");
  }

  /** Storage accounting of the whole bucket, or of one run or dataset (`o3ml du`). */
  storageUsage(sel: { run?: string; dataset?: string } = {}): Promise<WireStorageUsage> {
    // Accounting lists the whole bucket: give it longer than a single read.
    return this.unary<WireStorageUsage>("storageUsage", { run: sel.run ?? "", dataset: sel.dataset ?? "" }, 600_000);
  }
}
