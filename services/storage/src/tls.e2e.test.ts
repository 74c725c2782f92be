import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceClient } from "@o3ml/client";
import { startMoto, type S3Server } from "@o3ml/standin";
import type { O3Config } from "@o3ml/o3-client";
import { startService, type RunningService } from "./server.js";
import { makeTestCerts, type TestCerts } from "./test-certs.test-support.js";

/**
 * TLS and mutual TLS on the gRPC surface, with certificates made by openssl
 * at test time: the right CA (and client certificate) gets through; plaintext,
 * an unknown CA, a missing or foreign client certificate do not.
 */
const body = (s: string) =>
  (async function* () {
    yield Buffer.from(s);
  })();

describe("TLS on the storage service", () => {
  let s3: S3Server;
  let certs: TestCerts;
  let config: O3Config;
  beforeAll(async () => {
    certs = makeTestCerts();
    s3 = await startMoto();
    config = { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket: "o3ml-tls", profile: "o3" };
  });
  afterAll(async () => {
    await s3?.stop();
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  const attempt = async (svc: RunningService, tls?: { ca?: string; cert?: string; key?: string }) => {
    const client = new ServiceClient(svc.address, undefined, tls);
    try {
      await client.put("tls/probe", body("over tls"));
      return "ok";
    } catch (err) {
      return (err as { code: string }).code;
    } finally {
      client.close();
    }
  };

  it("serves TLS to clients that trust its CA and refuses plaintext and unknown CAs", async () => {
    const svc = await startService({ listen: "127.0.0.1:0", createBucket: true, tls: { cert: certs.serverCert, key: certs.serverKey } }, { config });
    try {
      expect(await attempt(svc, { ca: certs.ca })).toBe("ok");
      expect(await attempt(svc)).toBe("UNAVAILABLE");
      expect(await attempt(svc, { ca: certs.otherCa })).toBe("UNAVAILABLE");
    } finally {
      await svc.stop();
    }
  });

  it("with a client CA, requires a client certificate that CA signed", async () => {
    const svc = await startService(
      { listen: "127.0.0.1:0", createBucket: true, tls: { cert: certs.serverCert, key: certs.serverKey, clientCa: certs.ca } },
      { config },
    );
    try {
      expect(await attempt(svc, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })).toBe("ok");
      expect(await attempt(svc, { ca: certs.ca })).toBe("UNAVAILABLE");
      expect(await attempt(svc, { ca: certs.ca, cert: certs.otherClientCert, key: certs.otherClientKey })).toBe("UNAVAILABLE");
    } finally {
      await svc.stop();
    }
  });

  it("refuses to start with unreadable or non-PEM TLS files, naming the file but not its contents", async () => {
    await expect(startService({ listen: "127.0.0.1:0", tls: { cert: join(certs.dir, "missing.pem"), key: certs.serverKey } }, { config })).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
      message: expect.stringContaining("missing.pem"),
    });
    const junk = join(certs.dir, "junk.pem");
    writeFileSync(junk, "not a certificate");
    await expect(startService({ listen: "127.0.0.1:0", tls: { cert: junk, key: certs.serverKey } }, { config })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message: expect.not.stringContaining("not a certificate"),
    });
    expect(() => new ServiceClient("127.0.0.1:1", undefined, { cert: certs.clientCert })).toThrow(/O3ML_TLS_KEY/);
  });

  it("refuses a non-loopback address without a token before binding anything", async () => {
    await expect(startService({ listen: "0.0.0.0:0" }, { config })).rejects.toMatchObject({ code: "FAILED_PRECONDITION", message: expect.stringContaining("token") });
  });
});
