import { readFileSync } from "node:fs";
import { credentials, ServerCredentials, type ChannelCredentials } from "@grpc/grpc-js";
import { O3mlError } from "@o3ml/errors";

/**
 * TLS for the gRPC surface. The service serves plaintext on loopback by
 * default; a certificate and key turn TLS on, and a client CA bundle turns on
 * mutual TLS (every client must present a certificate that CA signed).
 * Clients read the matching files from O3ML_TLS_CA (the CA that signed the
 * service's certificate), O3ML_TLS_CERT and O3ML_TLS_KEY (their own
 * certificate for mTLS). Only file paths travel through options and errors;
 * key material never does.
 */
export interface TlsFiles {
  /** PEM certificate chain of the service. */
  cert: string;
  /** PEM private key of `cert`. */
  key: string;
  /** PEM CA bundle client certificates must chain to; set = mutual TLS. */
  clientCa?: string;
}

function readPem(path: string, what: string, hint: string): Buffer {
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

/** Server credentials: plaintext without `tls`, TLS with it, mTLS when it names a client CA. */
export function serverCredentials(tls: TlsFiles | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  const cert = readPem(tls.cert, "TLS certificate", "check --tls-cert");
  const key = readPem(tls.key, "TLS private key", "check --tls-key");
  const ca = tls.clientCa ? readPem(tls.clientCa, "client CA bundle", "check --tls-client-ca") : null;
  try {
    return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], !!ca);
  } catch (err) {
    throw new O3mlError("INVALID_ARGUMENT", `the TLS certificate ${tls.cert} and key ${tls.key} cannot be used together: ${(err as Error).message}`);
  }
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
