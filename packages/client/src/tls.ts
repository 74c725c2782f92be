import { readFileSync } from "node:fs";
import { credentials, type ChannelCredentials } from "@grpc/grpc-js";
import { O3mlError } from "@o3ml/errors";

// TLS of a client of the service (the server's half is
// services/storage/src/server-tls.ts). Clients read the files from
// O3ML_TLS_CA (the CA that signed the service's certificate), O3ML_TLS_CERT
// and O3ML_TLS_KEY (their own certificate for mutual TLS). Only file paths
// travel through options and errors; key material never does.

/** The PEM file at `path`, or an error naming `what` and `hint` (the setting to check); the server reads its files with it too. */
export function readPem(path: string, what: string, hint: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new O3mlError("FAILED_PRECONDITION", `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? "unreadable"}; ${hint}`, { path });
  }
  if (!bytes.includes("-----BEGIN ")) {
    throw new O3mlError("INVALID_ARGUMENT", `the ${what} ${path} is not PEM (no -----BEGIN line); ${hint}`, { path });
  }
  return bytes;
}

/** Client-side TLS files, from arguments or O3ML_TLS_CA / O3ML_TLS_CERT / O3ML_TLS_KEY. */
export interface ClientTls {
  ca?: string;
  cert?: string;
  key?: string;
}

export function clientTlsFromEnv(env: NodeJS.ProcessEnv = process.env): ClientTls | undefined {
  const tls = { ca: env.O3ML_TLS_CA || undefined, cert: env.O3ML_TLS_CERT || undefined, key: env.O3ML_TLS_KEY || undefined };
  return tls.ca || tls.cert || tls.key ? tls : undefined;
}

/** Channel credentials: plaintext without TLS settings, else TLS (with a client certificate for mTLS). */
export function channelCredentials(tls: ClientTls | undefined = clientTlsFromEnv()): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  if (!!tls.cert !== !!tls.key) {
    throw new O3mlError("INVALID_ARGUMENT", "a client certificate needs its key and the other way round: set both O3ML_TLS_CERT and O3ML_TLS_KEY, or neither");
  }
  const ca = tls.ca ? readPem(tls.ca, "CA bundle", "check O3ML_TLS_CA") : null;
  const key = tls.key ? readPem(tls.key, "client key", "check O3ML_TLS_KEY") : null;
  const cert = tls.cert ? readPem(tls.cert, "client certificate", "check O3ML_TLS_CERT") : null;
  return credentials.createSsl(ca, key, cert);
}
