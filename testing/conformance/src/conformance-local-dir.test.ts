import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describeBlobStoreConformance } from "./conformance-suite.js";

// The local directory store (packages/o3-client/src/local-dir-store.ts), the
// default of `o3ml serve` without an endpoint. What it truthfully lacks, and
// so skips (s3: false): versions (a folder keeps one copy of a key, so the
// versioned-delete cases), an S3 API behind it to inspect (pending multipart
// uploads, version listings), credentials and a network endpoint that could
// be unreachable, and a probe to cache (its capabilities are known).
describeBlobStoreConformance(
  "local directory",
  async () => {
    const root = mkdtempSync(join(tmpdir(), "o3ml-local-store-"));
    return {
      endpoint: pathToFileURL(root).href,
      region: "local",
      accessKeyId: "unused",
      secretAccessKey: "unused",
      async stop() {
        rmSync(root, { recursive: true, force: true });
      },
    };
  },
  {
    s3: false,
    checksCredentials: false,
    expectCapabilities: { rangeGet: true, listPagination: true, listStartAfter: true, conditionalPut: true, networkHeaders: false, versioning: false },
  },
);
