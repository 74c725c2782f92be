import { O3mlError } from "@o3ml/errors";
import { startMoto } from "./moto.js";
import { startO3Profile, type O3ProfileOptions, type O3ProfileServer } from "./o3-profile.js";

/** The embedded stand-in for Akave O3, with the notice its users must see. */
export interface Standin extends O3ProfileServer {
  readonly ephemeral: true;
  /** Says plainly that data lives only in memory and how to use real O3 instead. */
  readonly notice: string;
}

/**
 * What `o3ml serve` runs when no O3 endpoint is configured: moto's S3 server
 * behind the O3-profile layer, both on 127.0.0.1. Everything is kept in
 * memory and lost when it stops. `stop()` stops both.
 */
export async function startStandin(opts: O3ProfileOptions = {}): Promise<Standin> {
  let moto;
  try {
    moto = await startMoto();
  } catch (err) {
    throw new O3mlError(
      "FAILED_PRECONDITION",
      `The local stand-in for Akave O3 could not start its moto server: ${(err as Error).message}\n` +
        `Run 'npm run setup' to install moto, or use real Akave O3 by setting ${ENV_VARS}.`,
      {},
      { cause: err },
    );
  }
  let proxy: O3ProfileServer;
  try {
    proxy = await startO3Profile(moto, opts);
  } catch (err) {
    await moto.stop();
    throw O3mlError.from(err, "starting the local stand-in for Akave O3");
  }
  const notice =
    `Using a LOCAL STAND-IN for Akave O3 at ${proxy.endpoint} (moto's S3 server behind the O3-profile layer). ` +
    `It keeps data ONLY IN MEMORY: everything stored is lost when the service stops. ` +
    `To store on real Akave O3, set ${ENV_VARS}.`;
  return {
    ...proxy,
    ephemeral: true,
    notice,
    stop: async () => {
      await proxy.stop();
      await moto.stop();
    },
  };
}

const ENV_VARS = "O3ML_ENDPOINT, O3ML_ACCESS_KEY_ID, O3ML_SECRET_ACCESS_KEY and O3ML_BUCKET";
