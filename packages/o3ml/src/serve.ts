import type { Command } from "commander";
import { O3mlError } from "@o3ml/errors";
import { DEFAULTS } from "@o3ml/storage-service/service-options";
import { fail } from "@o3ml/cli";
import { applyConfigFile } from "./serve-config.js";

interface ServeOpts {
  config?: string;
  listen: string;
  metrics?: string;
  createBucket: boolean;
  chunkSize: string;
  concurrency: string;
  drainSeconds: string;
  json: boolean;
  standin: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("start the o3ml gRPC storage service in front of O3 (or, when O3ML_ENDPOINT is unset, a local folder under O3ML_HOME/store that keeps its data across restarts)")
    .option("--config <file>", "read settings from a TOML file: the keys are these flags without their dashes and the O3ML_* variables; flags, then the environment, win over it")
    .option("--listen <address>", "gRPC address, host:port or unix:/path/to/socket (created owner-only); a non-loopback host requires O3ML_TOKEN", DEFAULTS.listen)
    .option("--metrics <host:port>", "serve Prometheus metrics at http://host:port/metrics")
    .option("--create-bucket", "create O3ML_BUCKET when it does not exist", false)
    .option("--chunk-size <MiB>", "blob size objects are cut into", String(DEFAULTS.chunkSize / 1048576))
    .option("--concurrency <n>", "store requests one call keeps in flight (uploads, co-located reads), and host-cache fills at once in all (at most 16); chunks held in memory stay within 96 MiB whatever this is", String(DEFAULTS.concurrency))
    .option("--drain-seconds <s>", "on SIGTERM or SIGINT, how long running calls may take to finish before they are cut off (new calls are refused at once; a second signal stops at once)", String(DEFAULTS.drainSeconds))
    .option("--tls-cert <file>", "serve gRPC over TLS with this PEM certificate (needs --tls-key); clients set O3ML_TLS_CA")
    .option("--tls-key <file>", "PEM private key of --tls-cert")
    .option("--tls-client-ca <file>", "mutual TLS: require client certificates signed by this PEM CA (clients set O3ML_TLS_CERT and O3ML_TLS_KEY)")
    .option("--standin", "with O3ML_ENDPOINT unset: serve the embedded in-memory stand-in (moto, needs npm run setup) instead of O3ML_HOME/store; its data vanishes on stop", false)
    .option("--json", "print one JSON line when ready (for scripts)", false)
    .action(async (_o: ServeOpts, cmd: Command) => {
      let o = _o;
      try {
        if (o.config) {
          applyConfigFile(o.config, cmd);
          o = cmd.opts<ServeOpts>();
        }
        if (!!o.tlsCert !== !!o.tlsKey) throw new O3mlError("INVALID_ARGUMENT", "--tls-cert and --tls-key go together: give both, or neither for plaintext");
        if (o.tlsClientCa && !o.tlsCert) throw new O3mlError("INVALID_ARGUMENT", "--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS first)");
        const chunkMiB = Number(o.chunkSize);
        if (!Number.isFinite(chunkMiB) || chunkMiB < 1 || chunkMiB > 64) {
          throw new O3mlError("INVALID_ARGUMENT", `--chunk-size ${o.chunkSize}: give a number of MiB from 1 to 64`);
        }
        const concurrency = Number(o.concurrency);
        if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 64) {
          throw new O3mlError("INVALID_ARGUMENT", `--concurrency ${o.concurrency}: give a whole number from 1 to 64`);
        }
        const drainSeconds = Number(o.drainSeconds);
        if (!Number.isFinite(drainSeconds) || drainSeconds < 0 || drainSeconds > 86_400) {
          throw new O3mlError("INVALID_ARGUMENT", `--drain-seconds ${o.drainSeconds}: give a number of seconds from 0 to 86400`);
        }
        const { startServedStore } = await import("./serve-store.js");
        const served = await startServedStore({
          listen: o.listen,
          metricsListen: o.metrics,
          createBucket: o.createBucket,
          token: process.env.O3ML_TOKEN || undefined,
          tls: o.tlsCert && o.tlsKey ? { cert: o.tlsCert, key: o.tlsKey, clientCa: o.tlsClientCa } : undefined,
          chunkSize: Math.round(chunkMiB * 1048576),
          concurrency,
          drainSeconds,
        }, undefined, { standin: o.standin });
        const svc = served.service;
        if (served.standin) process.stderr.write(`\n*** ${served.standin.notice} ***\n\n`);
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
          if (stopping) {
            // The operator does not want to wait for the drain: stop now, as an unhandled signal would.
            process.stderr.write(`o3ml: ${signal} again: stopping at once, cutting off ${svc.inFlight()} running calls\n`);
            process.exit(128 + (signal === "SIGINT" ? 2 : 15));
          }
          stopping = true;
          const running = svc.inFlight();
          process.stderr.write(
            `o3ml: ${signal}: shutting down; new calls are refused` +
              (running ? `, ${running} running calls get up to ${drainSeconds} s to finish (send ${signal} again to stop at once)` : "") +
              "\n",
          );
          served.stop().then(
            ({ cutOff }) => {
              if (cutOff) process.stderr.write(`o3ml: cut off ${cutOff} calls still running after ${drainSeconds} s (--drain-seconds)\n`);
              process.exit(0);
            },
            (err: unknown) => {
              process.stderr.write(`o3ml: shutting down failed: ${err instanceof Error ? err.message : String(err)}\n`);
              process.exit(1);
            },
          );
        };
        // The handlers before the ready line: whoever reads that line may signal at once (a
        // supervisor, a test), and a signal before them would end the service undrained.
        process.on("SIGINT", () => stop("SIGINT"));
        process.on("SIGTERM", () => stop("SIGTERM"));
        const tls = o.tlsClientCa ? "mutual" : o.tlsCert ? "server" : "off";
        const ready = { event: "listening", address: svc.address, tls, endpoint: svc.store.endpoint, bucket: svc.store.bucket, standin: !!served.standin, localDir: served.localDir, metricsPort: svc.metricsPort };
        // Says where the data lives when o3ml chose the place, so that a user can find, back up or wipe it.
        const where = served.localDir ? `; data kept in ${served.localDir}` : served.standin ? "; in memory, gone when it stops" : "";
        process.stdout.write(o.json ? `${JSON.stringify(ready)}\n` : `o3ml storage service listening on ${svc.address}${tls === "off" ? "" : ` with ${tls === "mutual" ? "mutual " : ""}TLS`} (bucket ${svc.store.bucket} at ${svc.store.endpoint}${where})\n`);
      } catch (err) {
        fail(err, o.json);
        // startServedStore has stopped whatever it started (the stand-in's moto child too), but
        // background work it began (a capability probe of the stopped store) may still be
        // retrying; a server that could not start has nothing left to do, so exit now.
        process.exit();
      }
    });
}
