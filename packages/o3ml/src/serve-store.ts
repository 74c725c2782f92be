import { O3mlError } from "@o3ml/errors";
import { configFromEnv, type O3Config } from "@o3ml/o3-client";
import type { Standin } from "@o3ml/standin";
import { localStoreDir, localStoreEndpoint, startService, type RunningService, type ServiceOptions } from "@o3ml/storage-service";

/** The service `o3ml serve` runs, and the embedded store behind it when there is one. */
export interface ServedStore {
  service: RunningService;
  /** Started because --standin was asked for; stopped with the service. */
  standin?: Standin;
  /** The folder of the default local directory store (no endpoint configured, no --standin). */
  localDir?: string;
  /** Drains and stops the service (RunningService.stop), then what was started for it. */
  stop(): Promise<{ cutOff: number }>;
}

/**
 * Starts the storage service in front of the configured store or, when no
 * endpoint is configured, in front of a local directory store under
 * `$O3ML_HOME/store` (packages/o3-client/src/local-dir-store.ts), so that
 * data outlives the process; its bucket is created. With `standin` it runs
 * in front of the embedded stand-in instead (moto behind the O3-profile
 * layer, in memory), which tests use for a store that vanishes with them.
 * The stand-in lives here, not in the service, so that only this command
 * depends on test tooling, and it is imported only when asked for: it is a
 * development dependency of @o3ml/o3ml, present in a checkout and absent
 * from an installed package (scripts/package.mjs), where --standin says so. A start that fails stops the stand-in before the
 * error is thrown: a failed `o3ml serve` must leave no moto child behind.
 */
export async function startServedStore(opts: Partial<ServiceOptions>, config: O3Config = configFromEnv(), choice: { standin?: boolean } = {}): Promise<ServedStore> {
  if (config.endpoint && choice.standin) {
    throw new O3mlError("INVALID_ARGUMENT", `--standin replaces the configured store (O3ML_ENDPOINT=${config.endpoint}): unset O3ML_ENDPOINT, or leave out --standin`);
  }
  if (config.endpoint) {
    const service = await startService(opts, { config });
    return { service, stop: () => service.stop() };
  }
  if (!choice.standin) {
    const localDir = localStoreDir();
    const service = await startService({ ...opts, createBucket: true }, { config: { ...config, endpoint: localStoreEndpoint() } });
    return { service, localDir, stop: () => service.stop() };
  }
  const standin = await (await standinModule()).startStandin();
  let service: RunningService;
  try {
    service = await startService(
      { ...opts, createBucket: true },
      {
        config: { ...config, endpoint: standin.endpoint, accessKeyId: standin.accessKeyId, secretAccessKey: standin.secretAccessKey, region: standin.region },
        throwawayStore: true,
      },
    );
  } catch (err) {
    await standin.stop();
    throw err;
  }
  return {
    service,
    standin,
    async stop() {
      const drained = await service.stop();
      await standin.stop();
      return drained;
    },
  };
}

async function standinModule(): Promise<typeof import("@o3ml/standin")> {
  try {
    return await import("@o3ml/standin");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw err;
    throw new O3mlError(
      "FAILED_PRECONDITION",
      "--standin needs the stand-in (test tooling), which comes only with a checkout of o3ml after `npm run setup`; an installed o3ml serves the local folder store under O3ML_HOME/store without it",
      {},
      { cause: err },
    );
  }
}
