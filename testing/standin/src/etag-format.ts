/**
 * Akave O3 reports ETags as the base64 of the MD5 digest, where S3 servers
 * report hex: `"XrY7u+Ae7tCTyyK7j1rNww=="` instead of
 * `"5eb63bbbe01eeed093cb22bb8f5acdc3"`. Multipart ETags keep S3's `-N` part
 * count suffix (`"<base64>-3"`): O3's documentation does not show a multipart
 * ETag, and the suffix is what clients use to recognise one. Quotes, a weak
 * `W/` prefix and XML entity quotes are kept as they were.
 */

// A hex MD5 digest not embedded in a longer hex or base64 run.
const HEX_DIGEST = /(?<![0-9A-Za-z+/])[0-9a-fA-F]{32}(?![0-9A-Za-z+/=])/;
// A base64 MD5 digest: 16 bytes are always 22 characters and "==".
const BASE64_DIGEST = /(?<![0-9A-Za-z+/])[A-Za-z0-9+/]{21}[AQgw]==(?![0-9A-Za-z+/=])/;

/** An S3 (hex) ETag in O3's base64 form; anything else is returned unchanged. */
export function toO3Etag(etag: string): string {
  return etag.replace(HEX_DIGEST, (hex) => Buffer.from(hex, "hex").toString("base64"));
}

/** The inverse of toO3Etag: what the upstream S3 server calls this ETag. */
export function fromO3Etag(etag: string): string {
  return etag.replace(BASE64_DIGEST, (b64) => Buffer.from(b64, "base64").toString("hex"));
}

/** Rewrites every `<ETag>` element of an S3 XML document to O3's form. */
export function rewriteXmlEtags(xml: string): string {
  return xml.replace(/<ETag>([^<]*)<\/ETag>/g, (_, inner: string) => `<ETag>${toO3Etag(inner)}</ETag>`);
}

/** The inverse of rewriteXmlEtags, for documents a client sends (CompleteMultipartUpload). */
export function restoreXmlEtags(xml: string): string {
  return xml.replace(/<ETag>([^<]*)<\/ETag>/g, (_, inner: string) => `<ETag>${fromO3Etag(inner)}</ETag>`);
}
