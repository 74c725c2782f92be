import { makeGenericClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { O3mlError } from "@o3ml/errors";
import { serviceChannel } from "./service-address.js";
import { clientTlsFromEnv, type ClientTls } from "./tls.js";

export type HealthStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

/**
 * Asks the service's grpc.health.v1 Check for `service` ("" is the whole
 * server): SERVING once the store answers, NOT_SERVING before that and while
 * it drains for a stop (readiness.ts). A service that cannot be reached is
 * UNAVAILABLE, naming the address; the answer comes within `timeoutMs`.
 */
export async function checkHealth(address?: string, opts: { service?: string; timeoutMs?: number; tls?: ClientTls } = {}): Promise<HealthStatus> {
  const channel = serviceChannel(address, opts.tls ?? clientTlsFromEnv());
  const Health = makeGenericClientConstructor(healthService, "Health");
  const client = new Health(channel.target, channel.credentials) as unknown as {
    check(req: { service: string }, options: { deadline: number }, cb: (err: ServiceError | null, res: { status: HealthStatus }) => void): void;
    close(): void;
  };
  try {
    return await new Promise<HealthStatus>((resolve, reject) =>
      client.check({ service: opts.service ?? "" }, { deadline: Date.now() + (opts.timeoutMs ?? 5000) }, (err, res) =>
        err ? reject(new O3mlError("UNAVAILABLE", `cannot reach the o3ml service at ${channel.address}: ${err.details || err.message}`, { address: channel.address }, { cause: err })) : resolve(res.status),
      ),
    );
  } finally {
    client.close();
  }
}
