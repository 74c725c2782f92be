import { configFromEnv, type O3Config } from "@o3ml/o3-client";
import { startStandin, type Standin } from "@o3ml/standin";
import { startService, type RunningService, type ServiceOptions } from "@o3ml/storage-service";

/** The service `o3ml serve` runs, and the embedded stand-in behind it when there is one. */
export interface ServedStore {
  service: RunningService;
  /** Started because no O3 endpoint is configured; stopped with the service. */
  standin?: Standin;
  stop(): Promise<void>;
}

/**
 * Starts the storage service in front of the configured store or, when no
 * endpoint is configured, in front of the embedded stand-in (moto behind the
 * O3-profile layer, in memory), whose bucket it creates. The stand-in lives
 * here, not in the service, so that only this command depends on test tooling.
 * A start that fails stops the stand-in before the error is thrown: a failed
 * `o3ml serve` must leave no moto child behind.
 */
export async function startServedStore(opts: Partial<ServiceOptions>, config: O3Config = configFromEnv()): Promise<ServedStore> {
  if (config.endpoint) {
    const service = await startService(opts, { config });
    return { service, stop: () => service.stop() };
  }
  const standin = await startStandin();
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
      await service.stop();
      await standin.stop();
    },
  };
}
