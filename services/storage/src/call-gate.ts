import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from "@grpc/grpc-js";

/** Health checks pass the gate while draining: a load balancer must be able to see NOT_SERVING. */
const HEALTH_PREFIX = "/grpc.health.v1.Health/";

export const DRAINING_MESSAGE =
  "the o3ml service is shutting down (draining its running calls) and takes no new ones; retry once it has restarted, or against another service";

/**
 * Counts the calls the service is running and, once draining, refuses new
 * ones with UNAVAILABLE while those finish: a graceful stop (SIGTERM on a
 * rolling restart) must not cut off a long streamed put or a checkpoint save,
 * nor start one it cannot finish. It sits in front of every service as a
 * grpc-js server interceptor, so no handler has to know about it; the
 * listener stays open until the drain ends, so the health service can still
 * answer NOT_SERVING.
 */
export class CallGate {
  private running = 0;
  private closing = false;
  private idle: (() => void)[] = [];

  get inFlight(): number {
    return this.running;
  }

  get draining(): boolean {
    return this.closing;
  }

  readonly interceptor: ServerInterceptor = (method, call) => {
    if (method.path.startsWith(HEALTH_PREFIX)) return new ServerInterceptingCall(call);
    let counted = false;
    const leave = () => {
      if (!counted) return;
      counted = false;
      this.running--;
      if (this.running === 0) for (const wake of this.idle.splice(0)) wake();
    };
    return new ServerInterceptingCall(call, {
      start: (next) => {
        if (this.closing) {
          next({
            onReceiveMetadata: () => {
              const md = new Metadata();
              md.set("o3ml-code", "UNAVAILABLE");
              call.sendStatus({ code: status.UNAVAILABLE, details: DRAINING_MESSAGE, metadata: md });
            },
          });
          return;
        }
        counted = true;
        this.running++;
        next({ onCancel: leave });
      },
      sendStatus: (s, next) => {
        leave();
        next(s);
      },
    });
  };

  /**
   * Refuses new calls from now on and waits until the running ones have
   * ended or `ms` has passed; resolves to how many were still running then.
   */
  async drain(ms: number): Promise<number> {
    this.closing = true;
    if (this.running > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.idle.push(() => (clearTimeout(timer), resolve()));
      });
    }
    return this.running;
  }
}
