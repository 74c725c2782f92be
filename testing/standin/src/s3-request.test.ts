import { describe, expect, it } from "vitest";
import { describeRequest } from "./s3-request.js";

const op = (method: string, url: string, headers = {}) => describeRequest(method, url, headers);

describe("describeRequest", () => {
  it("names the operations the layer treats specially", () => {
    expect(op("PUT", "/bkt").operation).toBe("CreateBucket");
    expect(op("PUT", "/bkt/").operation).toBe("CreateBucket");
    expect(op("PUT", "/bkt?versioning").operation).toBe("PutBucketVersioning");
    expect(op("PUT", "/bkt?tagging").operation).toBe("PutBucketSubresource");
    expect(op("GET", "/bkt?list-type=2&prefix=a").operation).toBe("ListObjectsV2");
    expect(op("GET", "/bkt?versions&prefix=a").operation).toBe("ListObjectVersions");
    expect(op("GET", "/bkt").operation).toBe("ListObjects");
    expect(op("GET", "/").operation).toBe("ListBuckets");
    expect(op("PUT", "/bkt/k?x-id=PutObject").operation).toBe("PutObject");
    expect(op("PUT", "/bkt/k", { "x-amz-copy-source": "/bkt/j" }).operation).toBe("CopyObject");
    expect(op("PUT", "/bkt/k?partNumber=1&uploadId=u").operation).toBe("UploadPart");
    expect(op("POST", "/bkt/k?uploads=").operation).toBe("CreateMultipartUpload");
    expect(op("POST", "/bkt/k?uploadId=u").operation).toBe("CompleteMultipartUpload");
    expect(op("GET", "/bkt/k?uploadId=u").operation).toBe("ListParts");
    expect(op("DELETE", "/bkt/k?uploadId=u").operation).toBe("AbortMultipartUpload");
    expect(op("GET", "/bkt/k?versionId=v").operation).toBe("GetObject");
    expect(op("HEAD", "/bkt/k").operation).toBe("HeadObject");
    expect(op("POST", "/bkt?delete").operation).toBe("DeleteObjects");
  });

  it("decodes keys and groups operations into fault families", () => {
    const r = op("GET", "/bkt/dir%2Fa%20b/c?x-id=GetObject");
    expect(r).toMatchObject({ bucket: "bkt", key: "dir/a b/c", family: "GET" });
    expect(op("HEAD", "/bkt/k").family).toBe("HEAD");
    expect(op("GET", "/bkt?list-type=2").family).toBe("LIST");
    expect(op("PUT", "/bkt/k?partNumber=2&uploadId=u").family).toBe("PUT");
    expect(op("DELETE", "/bkt/k").family).toBe("DELETE");
    expect(op("GET", "/bkt?versioning").family).toBe("OTHER");
    expect(op("PUT", "//weird").bucket).toBe("");
  });
});
