import { minioBinary, startMinio } from "@o3ml/standin";
import { describe, it } from "vitest";
import { describeBlobStoreConformance } from "./conformance-suite.js";

const minio = minioBinary();

if (minio.path) {
  const binary = minio.path;
  describeBlobStoreConformance("MinIO", () => startMinio({ binary }), {
    expectCapabilities: { rangeGet: true, listPagination: true, listStartAfter: true, conditionalPut: true, networkHeaders: false, versioning: false },
  });
} else if (/^(true|1)$/i.test(process.env.CI ?? "")) {
  describe("BlobStore conformance: MinIO", () => {
    it("needs MinIO, which CI must provide", () => {
      throw new Error(`MinIO is not available: ${minio.reason}`);
    });
  });
} else {
  console.warn(`\n*** MinIO conformance suite SKIPPED: ${minio.reason} ***\n`);
  describe.skip("BlobStore conformance: MinIO (not available here)", () => {
    it("needs MinIO", () => undefined);
  });
}
