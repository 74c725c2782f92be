import type { Command } from "commander";
import { O3mlError } from "@o3ml/errors";
import { checkHealth } from "@o3ml/client";
import { emit, fail } from "../output.js";
import { serviceAddress } from "../service-option.js";

/**
 * `o3ml health`: the readiness probe of a container's HEALTHCHECK, a systemd
 * ExecStartPost or a script. Exit 0 only when grpc.health.v1 says SERVING;
 * NOT_SERVING (store not answering yet, or draining) and an unreachable
 * service exit 6, as UNAVAILABLE does everywhere in the command.
 */
export function registerHealth(program: Command): void {
  program
    .command("health")
    .description("ask the service whether it is ready (grpc.health.v1): exit 0 when SERVING, 6 when NOT_SERVING (store not answering yet, or draining for a stop) or unreachable")
    .option("--json", "machine-readable output", false)
    .action(async (o: { json: boolean }, cmd: Command) => {
      try {
        const address = serviceAddress(cmd);
        const status = await checkHealth(address);
        if (status !== "SERVING") {
          throw new O3mlError("UNAVAILABLE", `the o3ml service at ${address} is ${status}: its store does not answer yet, or it is shutting down`, { address, status });
        }
        emit(o, { address, status }, () => `${address}: ${status}`);
      } catch (err) {
        fail(err, o.json);
      }
    });
}
