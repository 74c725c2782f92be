import { HealthImplementation } from "grpc-health-check";
import { O3mlError } from "@o3ml/errors";
import type { BlobStore } from "@o3ml/o3-client";
import type { Logger } from "./logger.js";

/** The names grpc.health.v1 answers for: the whole server ("") and the object service, as before readiness existed. */
const NAMES = ["", "o3ml.v1.ObjectService"] as const;

/** How long the first and the longest wait between two checks of a store that did not answer are. */
const FIRST_RETRY_MS = 1000;
const LONGEST_RETRY_MS = 30_000;

/**
 * What grpc.health.v1 reports: SERVING only while the store has answered (its
 * bucket is there) and the service is not draining. The index needs no watch
 * of its own: the service opens it before it listens, and a start that cannot
 * reach it fails. A store that does not answer at start is checked again,
 * less and less often, until it does; readiness probes (a load balancer, a
 * container's HEALTHCHECK, `o3ml health`) then see the service turn SERVING.
 */
export class Readiness {
  readonly health = new HealthImplementation(Object.fromEntries(NAMES.map((n) => [n, "NOT_SERVING" as const])));
  private storeReady = false;
  private draining = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly store: BlobStore,
    private readonly createBucket: boolean,
    private readonly log: Logger,
  ) {}

  /** The store answered at start: serve at once. */
  storeAnswered(): void {
    this.storeReady = true;
    this.publish();
  }

  /** The store did not answer at start: check it again in the background until it does. */
  watchStore(): void {
    const check = async (wait: number): Promise<void> => {
      if (this.stopped) return;
      try {
        await this.store.ensureBucket({ create: this.createBucket });
        if (this.stopped) return;
        this.log.info({ endpoint: this.store.endpoint, bucket: this.store.bucket }, "the store answers: the service is ready");
        this.storeAnswered();
      } catch (err) {
        if (this.stopped) return;
        const e = O3mlError.from(err);
        this.log.warn({ code: e.code, retryInMs: wait }, `the store is not ready yet: ${e.message}`);
        this.timer = setTimeout(() => void check(Math.min(wait * 2, LONGEST_RETRY_MS)), wait);
        this.timer.unref();
      }
    };
    this.timer = setTimeout(() => void check(FIRST_RETRY_MS), FIRST_RETRY_MS);
    this.timer.unref();
  }

  /** Draining for a stop: NOT_SERVING from now on, whatever the store says. */
  drain(): void {
    this.draining = true;
    this.publish();
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private publish(): void {
    const status = this.storeReady && !this.draining ? "SERVING" : "NOT_SERVING";
    for (const name of NAMES) this.health.setStatus(name, status);
  }
}
