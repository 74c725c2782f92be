import { describe, expect, it } from "vitest";
import { checksumHeaderIn, checksumRefusal } from "./checksum-headers.js";

describe("flexible-checksum headers", () => {
  it("finds every header the SDKs use for flexible checksums", () => {
    expect(checksumHeaderIn({ "x-amz-sdk-checksum-algorithm": "CRC32" })).toBe("x-amz-sdk-checksum-algorithm");
    expect(checksumHeaderIn({ "x-amz-checksum-crc64nvme": "AAAA" })).toBe("x-amz-checksum-crc64nvme");
    expect(checksumHeaderIn({ "x-amz-checksum-mode": "ENABLED" })).toBe("x-amz-checksum-mode");
    expect(checksumHeaderIn({ "x-amz-checksum-algorithm": "CRC32" })).toBe("x-amz-checksum-algorithm");
    expect(checksumHeaderIn({ "x-amz-trailer": "x-amz-checksum-crc32" })).toBe("x-amz-trailer");
  });

  it("lets Content-MD5 and ordinary requests through", () => {
    expect(checksumHeaderIn({ "content-md5": "abc", "x-amz-content-sha256": "UNSIGNED-PAYLOAD", host: "h" })).toBeUndefined();
  });

  it("answers with the text O3 uses, naming the header found", () => {
    expect(checksumRefusal("x-amz-checksum-crc32")).toMatch(/x-amz-sdk-checksum-algorithm.*x-amz-checksum-crc32/);
  });
});
