import { CompleteMultipartUploadCommand, S3ServiceException, type S3Client } from "@aws-sdk/client-s3";
import { fromO3Etag } from "./etag-format.js";
import { s3ErrorAnswer } from "./s3-error-response.js";
import { bufferedAnswer, type UpstreamAnswer } from "./upstream-answer.js";
import { elementTexts, xmlEscape } from "./xml-text.js";

/**
 * CompleteMultipartUpload is the one request the layer cannot forward as is:
 * its body lists the parts' ETags, which the client got in O3's base64 form
 * and the upstream only knows in hex. Rewriting the body would break the
 * client's signature (it covers the payload hash), so the layer reads the
 * part list, translates the ETags and completes the upload with its own
 * signed call, then answers with the document the upstream would have sent.
 * The upstream's own checks apply unchanged: moto and MinIO both refuse parts
 * under 5 MiB except the last (EntityTooSmall) and unknown ETags (InvalidPart).
 * The client's signature on this one request is not checked by anyone.
 * `conditions` are in the upstream's terms already (see ConditionalRequests).
 */
export async function completeMultipartUpload(
  client: S3Client,
  target: { bucket: string; key: string; uploadId: string },
  requestXml: string,
  conditions: { ifMatch?: string; ifNoneMatch?: string } = {},
): Promise<UpstreamAnswer> {
  const parts = [...requestXml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => {
    const part = m[1] ?? "";
    return { PartNumber: Number(elementTexts(part, "PartNumber")[0]), ETag: fromO3Etag(elementTexts(part, "ETag")[0] ?? "") };
  });
  if (parts.length === 0 || parts.some((p) => !Number.isInteger(p.PartNumber))) {
    return s3ErrorAnswer(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema");
  }
  try {
    const out = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.bucket,
        Key: target.key,
        UploadId: target.uploadId,
        MultipartUpload: { Parts: parts },
        // The binding the layer put on the client's conditions still holds.
        IfMatch: conditions.ifMatch,
        IfNoneMatch: conditions.ifNoneMatch,
      }),
    );
    const field = (name: string, value: string | undefined) => (value === undefined ? "" : `<${name}>${xmlEscape(value)}</${name}>`);
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
      field("Location", out.Location) + field("Bucket", out.Bucket ?? target.bucket) + field("Key", out.Key ?? target.key) +
      field("ETag", out.ETag) + `</CompleteMultipartUploadResult>`;
    const headers: Record<string, string> = { "content-type": "application/xml" };
    if (out.ETag) headers.etag = out.ETag;
    if (out.VersionId) headers["x-amz-version-id"] = out.VersionId;
    return bufferedAnswer(200, headers, Buffer.from(xml));
  } catch (err) {
    if (err instanceof S3ServiceException) {
      return s3ErrorAnswer(err.$metadata.httpStatusCode ?? 500, err.name, err.message);
    }
    return s3ErrorAnswer(502, "InternalError", `The upstream S3 server could not be reached: ${String((err as Error).message ?? err)}`);
  }
}
