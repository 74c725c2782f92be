import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import type { O3Config } from "./config.js";
import { sendContentMd5 } from "./content-md5.js";
import { resolveHttp, type HttpOptions } from "./http-options.js";
import { O3RetryStrategy, resolveRetry, type RetryOptions } from "./retry-strategy.js";

/**
 * The S3Client options for a configuration. The "o3" profile carries every
 * setting Akave O3 needs (each explained in the README); "s3" keeps the SDK's
 * defaults where O3 and AWS differ.
 */
export function s3ClientOptions(config: O3Config, opts: { http?: HttpOptions; retry?: RetryOptions } = {}): S3ClientConfig {
  const http = resolveHttp(opts.http);
  const agent = { keepAlive: true, maxSockets: http.maxSockets };
  const options: S3ClientConfig = {
    region: config.region,
    // Akave O3 only serves path-style URLs; local servers on 127.0.0.1 have no bucket DNS names either.
    forcePathStyle: config.profile === "o3" || config.endpoint !== undefined,
    retryStrategy: new O3RetryStrategy(opts.retry),
    // Only read by the SDK for its amz-sdk-request header; the strategy decides.
    maxAttempts: resolveRetry(opts.retry).maxAttempts,
    requestHandler: new NodeHttpHandler({
      httpAgent: agent,
      httpsAgent: agent,
      connectionTimeout: http.connectionTimeoutMs,
      requestTimeout: http.requestTimeoutMs,
      throwOnRequestTimeout: true,
      // No socket idle timeout: it fires on a reader that is merely slow (backpressure).
      socketTimeout: 0,
    }),
  };
  if (config.endpoint !== undefined) options.endpoint = config.endpoint;
  if (config.accessKeyId !== undefined && config.secretAccessKey !== undefined) {
    options.credentials = { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey };
  }
  if (config.profile === "o3") {
    // O3 rejects the CRC64NVME/CRC32 flexible-checksum headers newer SDKs add to
    // every upload (InvalidArgument … x-amz-sdk-checksum-algorithm); send and
    // check them only where the S3 API makes them mandatory. Integrity comes
    // from o3ml's own content hashes, not from transport checksums or ETags.
    options.requestChecksumCalculation = "WHEN_REQUIRED";
    options.responseChecksumValidation = "WHEN_REQUIRED";
    // With "Expect: 100-continue" the SDK sends every large PUT and part on a
    // fresh connection outside the keep-alive pool and may wait seconds for
    // the interim response; a TLS handshake per part costs more on a remote
    // store than the rare wasted body of a refused request.
    options.expectContinueHeader = false;
  }
  return options;
}

/**
 * An S3Client for `config`: s3ClientOptions, plus, in the O3 profile,
 * Content-MD5 instead of flexible checksums on the operations that require a
 * checksum (content-md5.ts). Use this rather than `new S3Client(...)` for
 * any raw S3 call that must work against O3.
 */
export function createS3Client(config: O3Config, opts: { http?: HttpOptions; retry?: RetryOptions } = {}): S3Client {
  const client = new S3Client(s3ClientOptions(config, opts));
  if (config.profile === "o3") sendContentMd5(client);
  return client;
}
