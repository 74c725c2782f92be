import { startMoto } from "@o3ml/standin";
import { describeBlobStoreConformance } from "./conformance-suite.js";

// moto's server mode does not check signatures, so the credentials case is skipped.
describeBlobStoreConformance("moto", () => startMoto(), {
  checksCredentials: false,
  expectCapabilities: { rangeGet: true, listPagination: true, listStartAfter: true, conditionalPut: true, networkHeaders: false, versioning: false },
});
