import { afterEach, describe, expect, it } from "vitest";
import { startFaultServer, storeAt, type FaultServer } from "./fault-server.test-support.js";

let server: FaultServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("head()", () => {
  it("reports O3's Network-State and Network-Root-Cid when the endpoint sends them", async () => {
    server = await startFaultServer((_req, res) => {
      res.writeHead(200, { "content-length": 123, "Network-State": "done", "Network-Root-Cid": "bafybeigdyrzt" });
      res.end();
    });
    expect(await storeAt(server.endpoint).head("k")).toEqual({ size: 123, networkState: "done", networkRootCid: "bafybeigdyrzt" });
  });

  it("leaves them out on plain S3", async () => {
    server = await startFaultServer((_req, res) => {
      res.writeHead(200, { "content-length": 7 });
      res.end();
    });
    expect(await storeAt(server.endpoint).head("k")).toEqual({ size: 7 });
  });
});
