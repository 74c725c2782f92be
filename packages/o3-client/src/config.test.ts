import { describe, expect, it } from "vitest";
import { O3mlError } from "@o3ml/errors";
import { configFromEnv, describeConfig, validateEndpoint } from "./config.js";

describe("configFromEnv", () => {
  it("defaults to Akave's region, bucket o3ml, the O3 profile and no endpoint", () => {
    expect(configFromEnv({})).toEqual({ region: "akave-network", bucket: "o3ml", profile: "o3" });
  });

  it("reads every O3ML_ variable", () => {
    const env = {
      O3ML_ENDPOINT: "https://o3-rc2.akave.xyz/",
      O3ML_REGION: "r1",
      O3ML_ACCESS_KEY_ID: "id1",
      O3ML_SECRET_ACCESS_KEY: "secret1",
      O3ML_BUCKET: "b1",
    };
    expect(configFromEnv(env)).toEqual({
      endpoint: "https://o3-rc2.akave.xyz",
      region: "r1",
      accessKeyId: "id1",
      secretAccessKey: "secret1",
      bucket: "b1",
      profile: "o3",
    });
  });

  it("falls back to the standard AWS variables, in their order of precedence", () => {
    const aws = {
      AWS_ENDPOINT_URL: "http://127.0.0.1:9000",
      AWS_DEFAULT_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "aws-id",
      AWS_SECRET_ACCESS_KEY: "aws-secret",
    };
    expect(configFromEnv(aws)).toMatchObject({ endpoint: "http://127.0.0.1:9000", region: "eu-west-1", accessKeyId: "aws-id", secretAccessKey: "aws-secret" });
    expect(configFromEnv({ ...aws, AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9001", AWS_REGION: "us-west-2" })).toMatchObject({
      endpoint: "http://127.0.0.1:9001",
      region: "us-west-2",
    });
    expect(configFromEnv({ ...aws, O3ML_ENDPOINT: "http://127.0.0.1:9002", O3ML_ACCESS_KEY_ID: "o3-id" })).toMatchObject({
      endpoint: "http://127.0.0.1:9002",
      accessKeyId: "o3-id",
      secretAccessKey: "aws-secret",
    });
  });

  it("treats empty variables as unset", () => {
    expect(configFromEnv({ O3ML_ENDPOINT: " ", O3ML_REGION: "", AWS_REGION: "us-east-2" })).toEqual({ region: "us-east-2", bucket: "o3ml", profile: "o3" });
  });

  it("uses the plain S3 profile for AWS endpoints only", () => {
    expect(configFromEnv({ O3ML_ENDPOINT: "https://s3.eu-west-1.amazonaws.com" }).profile).toBe("s3");
    expect(configFromEnv({ O3ML_ENDPOINT: "https://o3-rc2.akave.xyz" }).profile).toBe("o3");
  });

  it("rejects an endpoint that is not an http(s) URL, naming the variable", () => {
    for (const bad of ["o3-rc2.akave.xyz", "ftp://example.com", "http://", "not a url", "https://user:pw@host"]) {
      let err: unknown;
      try {
        configFromEnv({ O3ML_ENDPOINT: bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(O3mlError);
      expect((err as O3mlError).code).toBe("INVALID_ARGUMENT");
      expect((err as O3mlError).message).toContain("O3ML_ENDPOINT");
      expect((err as O3mlError).message).not.toContain("pw");
    }
    expect(() => configFromEnv({ AWS_ENDPOINT_URL: "nope" })).toThrow(/AWS_ENDPOINT_URL must be an http/);
  });

  it("validateEndpoint strips trailing slashes", () => {
    expect(validateEndpoint("http://127.0.0.1:9000//")).toBe("http://127.0.0.1:9000");
  });
});

describe("describeConfig", () => {
  it("never shows the secret, and only a prefix of the key id", () => {
    const d = describeConfig({ endpoint: "https://o3-rc2.akave.xyz", region: "akave-network", accessKeyId: "AKIAEXAMPLEKEY", secretAccessKey: "s3cr3t-value", bucket: "b", profile: "o3" });
    const text = JSON.stringify(d);
    expect(text).not.toContain("s3cr3t-value");
    expect(text).not.toContain("AKIAEXAMPLEKEY");
    expect(d).toMatchObject({ endpoint: "https://o3-rc2.akave.xyz", bucket: "b", accessKeyId: "AKIA****", secretAccessKey: "(set)" });
    expect(describeConfig({ region: "r", bucket: "b", profile: "s3" })).toMatchObject({ endpoint: "AWS S3 (r)", accessKeyId: "(default credential chain)" });
  });
});
