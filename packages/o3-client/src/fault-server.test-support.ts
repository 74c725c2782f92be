import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { createBlobStore, type BlobStoreOptions } from "./s3-blob-store.js";
import type { BlobStore } from "./blob-store.js";

/**
 * A scripted HTTP responder on 127.0.0.1 for tests of what the client sends
 * and how it reacts to failures (not an S3 server: it answers only what each
 * test scripts).
 */
export interface FaultServer {
  endpoint: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
  remotePort: number;
}

export type Responder = (req: SeenRequest, res: ServerResponse, index: number) => void;

export async function startFaultServer(respond: Responder): Promise<FaultServer> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks), remotePort: req.socket.remotePort ?? 0 };
      requests.push(seen);
      respond(seen, res, requests.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An S3 error document. */
export function s3Error(res: ServerResponse, status: number, code: string, message = code): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export function ok(res: ServerResponse, body: Buffer | string = "", headers: Record<string, string> = {}): void {
  res.writeHead(200, { "content-length": Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** A store on bucket "b" of `endpoint` with fast retries and no logging. */
export function storeAt(endpoint: string, opts: BlobStoreOptions = {}): BlobStore {
  return createBlobStore(
    { endpoint, region: "akave-network", accessKeyId: "test-key-id", secretAccessKey: "test-secret-value", bucket: "b", profile: "o3" },
    { retry: { baseDelayMs: 1, maxDelayMs: 5 }, probeCacheDir: false, logger: pino({ level: "silent" }), ...opts },
  );
}
