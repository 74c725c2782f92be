import { startMoto, startO3Profile, type S3Server } from "@o3ml/standin";
import { describeBlobStoreConformance } from "./conformance-suite.js";

// The O3-profile layer reproduces Akave O3's deviations (checksum headers refused,
// base64 ETags, versioning always on, Network-* headers) in front of moto.
describeBlobStoreConformance(
  "O3-profile layer over moto",
  async () => {
    const moto = await startMoto();
    let proxy: S3Server;
    try {
      proxy = await startO3Profile(moto);
    } catch (err) {
      await moto.stop();
      throw err;
    }
    return {
      ...proxy,
      stop: async () => {
        await proxy.stop();
        await moto.stop();
      },
    };
  },
  {
    checksCredentials: false,
    expectCapabilities: { rangeGet: true, listPagination: true, listStartAfter: true, networkHeaders: true, versioning: true },
  },
);
