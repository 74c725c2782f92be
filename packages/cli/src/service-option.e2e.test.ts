import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTestCerts, type TestCerts } from "../../../services/storage/src/test-certs.test-support.js";
import { cleanEnv, o3ml, startServe, type Served } from "./cli.test-support.js";

/**
 * Where the o3ml command finds its service: O3ML_SERVICE or --service, as
 * host:port, http://host:port, https://host:port (TLS) or unix:/path, each
 * tried against a running `o3ml serve`.
 */
const FORMS = "host:port, http://host:port, https://host:port (TLS) or unix:/path/to/socket";
const CLIENT_COMMANDS = [
  "put", "get", "ls", "stat", "rm", "runs ls", "runs show", "runs rm", "lineage", "index rebuild",
  "dataset push", "dataset ls", "dataset show", "dataset pull", "dataset verify", "dataset rm",
  "ckpt ls", "ckpt show", "ckpt verify", "ckpt export", "ckpt pin", "ckpt unpin", "ckpt prune", "verify", "du", "gc", "health",
];

describe("the service address of the o3ml command", { timeout: 240_000 }, () => {
  let plain: Served;
  let port: string;
  let dir: string;
  let socketProxy: Server;
  let socket: string;

  beforeAll(async () => {
    plain = await startServe();
    port = plain.address.split(":").at(-1)!;
    dir = mkdtempSync(join(tmpdir(), "o3ml-service-option-"));
    writeFileSync(join(dir, "note.txt"), "reached");
    // A unix socket relayed to the TCP service: the client side of unix: addresses (serve-unix.e2e.test.ts has `o3ml serve` listen on one itself).
    socket = join(dir, "o3ml.sock");
    socketProxy = createServer((down) => {
      const up = connect(Number(port), "127.0.0.1");
      down.pipe(up).pipe(down);
      const end = () => (down.destroy(), up.destroy());
      down.on("error", end).on("close", end);
      up.on("error", end).on("close", end);
    });
    await new Promise<void>((resolve) => socketProxy.listen(socket, resolve));
    const put = await o3ml(["put", join(dir, "note.txt"), "notes/note.txt"], plain.env());
    expect(put.code, put.stderr).toBe(0);
  });
  afterAll(async () => {
    await new Promise((resolve) => socketProxy?.close(resolve));
    await plain?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const listedKeys = async (env: NodeJS.ProcessEnv, ...args: string[]) => {
    const r = await o3ml(["ls", "--json", ...args], env);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { key: string }[]).map((i) => i.key);
  };

  it("reaches the service at host:port, http://host:port and a unix socket, from O3ML_SERVICE or --service", async () => {
    for (const address of [`127.0.0.1:${port}`, `localhost:${port}`, `http://127.0.0.1:${port}`, `http://localhost:${port}/`, `unix:${socket}`, `unix://${socket}`]) {
      expect(await listedKeys(plain.env({ O3ML_SERVICE: address })), address).toEqual(["notes/note.txt"]);
      // --service wins over O3ML_SERVICE, here one where nothing listens.
      expect(await listedKeys(plain.env({ O3ML_SERVICE: "127.0.0.1:1" }), "--service", address), address).toEqual(["notes/note.txt"]);
    }
    const down = await o3ml(["ls"], plain.env({ O3ML_SERVICE: `unix:${join(dir, "nobody.sock")}` }));
    expect(down.code).toBe(6);
    expect(down.stderr).toContain(`cannot reach the o3ml service at unix:${join(dir, "nobody.sock")}`);
  });

  it("speaks TLS to https://host:port, with O3ML_TLS_CA for a private CA", async () => {
    let certs: TestCerts | undefined;
    let tls: Served | undefined;
    try {
      certs = makeTestCerts();
      tls = await startServe(["--tls-cert", certs.serverCert, "--tls-key", certs.serverKey]);
      const tlsPort = tls.address.split(":").at(-1)!;
      const put = await o3ml(["put", join(dir, "note.txt"), "tls/note.txt", "--service", `https://localhost:${tlsPort}`], tls.env({ O3ML_TLS_CA: certs.ca }));
      expect(put.code, put.stderr).toBe(0);
      expect(await listedKeys(tls.env({ O3ML_SERVICE: `https://localhost:${tlsPort}`, O3ML_TLS_CA: certs.ca }))).toEqual(["tls/note.txt"]);
      // Without the CA the system's CAs decide, and they do not know this one; plaintext gets no answer.
      expect((await o3ml(["ls"], tls.env({ O3ML_SERVICE: `https://localhost:${tlsPort}` }))).code).toBe(6);
      expect((await o3ml(["ls"], tls.env({ O3ML_SERVICE: `http://localhost:${tlsPort}` }))).code).toBe(6);
      const both = await o3ml(["ls"], tls.env({ O3ML_SERVICE: `http://localhost:${tlsPort}`, O3ML_TLS_CA: certs.ca }));
      expect(both.code).toBe(2);
      expect(both.stderr).toContain("asks for plaintext (http://), but O3ML_TLS_CA, O3ML_TLS_CERT or O3ML_TLS_KEY is set: write https:// for TLS");
    } finally {
      await tls?.stop();
      if (certs) rmSync(certs.dir, { recursive: true, force: true });
    }
  });

  it("refuses a malformed address with exit code 2, naming where it came from and the forms it takes", async () => {
    const env = cleanEnv(dir);
    for (const bad of ["garbage", "127.0.0.1", "dns:///localhost:7433", "grpc://localhost:7433", "http://localhost:7433/o3ml", "http://user@localhost:7433", "unix:", "unix://relative.sock", "localhost:70000"]) {
      const fromEnv = await o3ml(["ls"], { ...env, O3ML_SERVICE: bad });
      expect(fromEnv.code, bad).toBe(2);
      expect(fromEnv.stdout).toBe("");
      expect(fromEnv.stderr).toContain(`o3ml: INVALID_ARGUMENT: O3ML_SERVICE is ${JSON.stringify(bad)}: not a service address`);
      expect(fromEnv.stderr).toContain(`give ${FORMS}`);
      const fromFlag = await o3ml(["runs", "ls", "--json", "--service", bad], env);
      expect(fromFlag.code, bad).toBe(2);
      expect(fromFlag.stderr).toContain(`o3ml: INVALID_ARGUMENT: --service is ${JSON.stringify(bad)}: not a service address`);
      expect(JSON.parse(fromFlag.stdout)).toMatchObject({ error: { code: "INVALID_ARGUMENT" } });
    }
  });

  it("offers --service on every command that talks to the service, and its help names O3ML_SERVICE", async () => {
    const env = cleanEnv(dir);
    for (const command of CLIENT_COMMANDS) {
      const help = await o3ml([...command.split(" "), "--help"], env);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toMatch(/--service <address>/);
      expect(help.stdout.replace(/\s+/g, " "), command).toContain(`the o3ml service: ${FORMS} (default: "127.0.0.1:7433", env: O3ML_SERVICE)`);
    }
    const serve = await o3ml(["serve", "--help"], env);
    expect(serve.stdout).not.toContain("--service");
  });
});
