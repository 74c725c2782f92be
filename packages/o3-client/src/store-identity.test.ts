import { describe, expect, it } from "vitest";
import { storeIdentity } from "./store-identity.js";

describe("storeIdentity", () => {
  it("is the endpoint URL and the bucket, the same for every spelling of the URL", () => {
    const id = storeIdentity("http://127.0.0.1:9000", "o3ml");
    expect(id).toBe("http://127.0.0.1:9000/o3ml");
    expect(storeIdentity("HTTP://127.0.0.1:9000/", "o3ml")).toBe(id);
    expect(storeIdentity("https://O3-RC2.Akave.xyz:443//", "o3ml")).toBe("https://o3-rc2.akave.xyz/o3ml");
    expect(storeIdentity("http://minio.local:80", "b")).toBe("http://minio.local/b");
  });

  it("keeps a path the endpoint serves the S3 API under", () => {
    expect(storeIdentity("https://gateway.example/s3/", "b")).toBe("https://gateway.example/s3/b");
  });

  it("tells apart other buckets, ports, schemes and hosts", () => {
    const ids = [
      storeIdentity("http://127.0.0.1:9000", "a"),
      storeIdentity("http://127.0.0.1:9000", "b"),
      storeIdentity("http://127.0.0.1:9001", "a"),
      storeIdentity("https://127.0.0.1:9000", "a"),
      storeIdentity("http://localhost:9000", "a"),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });
});
