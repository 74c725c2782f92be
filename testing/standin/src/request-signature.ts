import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { Hash } from "@smithy/core/serde";
import { SignatureV4 } from "@smithy/signature-v4";

/** What a client's `Authorization: AWS4-HMAC-SHA256 …` header says. */
export interface HeaderAuthorization {
  accessKeyId: string;
  region: string;
  service: string;
  /** Lower-case names, as listed in SignedHeaders. */
  signedHeaders: string[];
  signature: string;
  signingDate: Date;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/\d{8}\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * The client's SigV4 header authorization, or undefined when the request is
 * signed some other way (a presigned URL) or not at all. Only x-amz-date
 * dated signatures are taken, the form every AWS SDK sends.
 */
export function headerAuthorization(headers: IncomingHttpHeaders): HeaderAuthorization | undefined {
  const auth = AUTHORIZATION.exec(headers.authorization ?? "");
  const date = AMZ_DATE.exec(String(headers["x-amz-date"] ?? ""));
  if (!auth || !date) return undefined;
  const [, year, month, day, hours, minutes, seconds] = date.map(Number);
  return {
    accessKeyId: auth[1]!,
    region: auth[2]!,
    service: auth[3]!,
    signedHeaders: auth[4]!.split(";"),
    signature: auth[5]!,
    signingDate: new Date(Date.UTC(year!, month! - 1, day, hours, minutes, seconds)),
  };
}

/**
 * Checks and makes SigV4 header signatures with the upstream's credentials.
 * The layer needs both when it must change a header the client signed (its
 * conditional headers): the upstream would refuse the changed request, so
 * the layer checks the client's signature itself, as the upstream would
 * have, and signs the changed request again with the client's date, region
 * and service. Payload hashes are taken from x-amz-content-sha256 as signed;
 * the body is never read.
 */
export class RequestSigning {
  constructor(private readonly credentials: { accessKeyId: string; secretAccessKey: string }) {}

  /** Undefined when the signature holds; else the S3 error code to answer with. */
  async verify(req: IncomingMessage, auth: HeaderAuthorization): Promise<"InvalidAccessKeyId" | "SignatureDoesNotMatch" | undefined> {
    if (auth.accessKeyId !== this.credentials.accessKeyId) return "InvalidAccessKeyId";
    const expected = signatureOf(await this.authorization(req, auth, req.headers, auth.signedHeaders));
    const given = Buffer.from(auth.signature);
    return expected.length === given.length && timingSafeEqual(expected, given) ? undefined : "SignatureDoesNotMatch";
  }

  /**
   * The Authorization header for `req` with `headers` in place of its own,
   * signing the headers named in `signedHeaders` (SigV4 leaves the others
   * out of the signature, as the client did).
   */
  async authorization(req: IncomingMessage, auth: HeaderAuthorization, headers: IncomingHttpHeaders, signedHeaders: string[]): Promise<string> {
    const signer = new SignatureV4({
      credentials: this.credentials,
      region: auth.region,
      service: auth.service,
      sha256: Hash.bind(null, "sha256"),
      // S3 signs the path as sent, without the second encoding other services use.
      uriEscapePath: false,
      applyChecksum: false,
    });
    const names = new Set(signedHeaders);
    const toSign: Record<string, string> = {};
    for (const name of names) {
      const value = headers[name];
      if (value !== undefined) toSign[name] = Array.isArray(value) ? value.join(",") : String(value);
    }
    const url = req.url ?? "/";
    const queryAt = url.indexOf("?");
    const query: Record<string, string | string[]> = {};
    for (const [key, value] of new URLSearchParams(queryAt < 0 ? "" : url.slice(queryAt + 1))) {
      const seen = query[key];
      query[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
    }
    const signed = await signer.sign(
      { method: req.method ?? "GET", protocol: "http:", hostname: "", path: queryAt < 0 ? url : url.slice(0, queryAt), query, headers: toSign },
      // Naming the signed headers makes the signer keep those it would leave out by default.
      { signingDate: auth.signingDate, signableHeaders: names },
    );
    return String(signed.headers.authorization);
  }
}

function signatureOf(authorization: string): Buffer {
  return Buffer.from(/Signature=([0-9a-f]+)$/.exec(authorization)?.[1] ?? "");
}
