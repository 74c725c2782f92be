import { ServerCredentials } from "@grpc/grpc-js";
import { readPem } from "@o3ml/client";
import { O3mlError } from "@o3ml/errors";

/**
 * TLS for the gRPC surface. The service serves plaintext on loopback by
 * default; a certificate and key turn TLS on, and a client CA bundle turns on
 * mutual TLS (every client must present a certificate that CA signed).
 * Clients read the matching files (packages/client/src/tls.ts). Only file
 * paths travel through options and errors; key material never does.
 */
export interface TlsFiles {
  /** PEM certificate chain of the service. */
  cert: string;
  /** PEM private key of `cert`. */
  key: string;
  /** PEM CA bundle client certificates must chain to; set = mutual TLS. */
  clientCa?: string;
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

