import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import net from "node:net";
import { SignatureV4 } from "@smithy/signature-v4";
import type { O3Config } from "./config.js";
import { HTTP_DEFAULTS } from "./http-options.js";

/**
 * Whole-object GETs whose bodies are read straight into a buffer the socket
 * reuses (net.Socket's `onread`) and handed, piece by piece, to a synchronous
 * sink: for filling the host cache on a fetch thread.
 *
 * Why not the SDK: Node's HTTP client reads a socket into a new 64 KiB buffer
 * per read and passes each through the HTTP parser and a stream. Measured on
 * loopback against MinIO (docs/performance.md, "Bodies read into a reused
 * buffer"), that costs 1.4-1.9 ms of CPU per MiB received (the SDK on top:
 * 1.8-2.2), against 0.2 here: more than the sha2-256 of the same bytes.
 *
 * Deliberately narrow, so that everything it does not handle goes to the SDK,
 * which retries and names errors: plain-HTTP endpoints with static keys only
 * (a TLS socket is not read this way), and only `200` answers with a
 * Content-Length and no transfer coding. Anything else (another status, a
 * chunked body, a cut connection, a timeout) makes `get` answer `undefined`
 * or fail, and the caller asks the SDK instead; the caller verifies the bytes
 * against their CID either way.
 */
export interface SocketGetter {
  /**
   * GETs `key` of the configured bucket, calling `sink` with each piece of the
   * body in order; the piece's memory is reused once `sink` returns, so `sink`
   * must consume it synchronously. Resolves with the body's length, or
   * `undefined` when the answer is not one this reader takes (nothing was
   * passed to `sink` then). Rejects when the connection failed or the body
   * ended early; `sink` may have been called by then.
   */
  get(key: string, sink: (piece: Uint8Array) => void): Promise<number | undefined>;
  /** Closes the idle connections. */
  close(): void;
}

/** Each connection's read buffer: reads larger than this gained nothing measurable. */
const READ_BUFFER_BYTES = 256 * 1024;
/** Idle keep-alive connections kept for the next GET. */
const MAX_IDLE = 16;
/** A response head longer than this is not one this reader takes. */
const MAX_HEAD_BYTES = 64 * 1024;

/**
 * A SocketGetter for `config`, or undefined where this reader does not apply
 * (an https or file endpoint, no endpoint (AWS by DNS), an endpoint with a
 * path, or keys left to the SDK's credential chain).
 */
export function socketGetter(config: O3Config, opts: { idleTimeoutMs?: number } = {}): SocketGetter | undefined {
  if (config.endpoint === undefined || config.accessKeyId === undefined || config.secretAccessKey === undefined) return undefined;
  const url = new URL(config.endpoint);
  if (url.protocol !== "http:" || (url.pathname !== "/" && url.pathname !== "") || url.search !== "") return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port === "" ? 80 : Number(url.port);
  const signer = new SignatureV4({
    service: "s3",
    region: config.region,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    sha256: NodeSha256,
    // S3 signs the path as sent, each segment escaped once (as the SDK's S3 client does).
    uriEscapePath: false,
  });
  return new Getter(host, port, url.host, config.bucket, signer, opts.idleTimeoutMs ?? HTTP_DEFAULTS.idleTimeoutMs);
}

/** What SignatureV4 hands its hash: a key or data. */
type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytesOf(data: SourceData): string | Uint8Array {
  if (typeof data === "string") return data;
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The hash SignatureV4 wants, from node:crypto (an HMAC when given a secret). */
class NodeSha256 {
  private hash: Hash | Hmac;
  private readonly secret: string | Uint8Array | undefined;
  constructor(secret?: SourceData) {
    this.secret = secret === undefined ? undefined : bytesOf(secret);
    this.hash = this.fresh();
  }
  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash("sha256") : createHmac("sha256", this.secret);
  }
}

/** One keep-alive connection; `onRead` is the current response's reader, if any. */
interface Connection {
  socket: net.Socket;
  onRead?: (bytes: Uint8Array) => void;
  onEnd?: (err: Error) => void;
}

class Getter implements SocketGetter {
  private readonly idle: Connection[] = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly hostHeader: string,
    private readonly bucket: string,
    private readonly signer: SignatureV4,
    private readonly idleTimeoutMs: number,
  ) {}

  async get(key: string, sink: (piece: Uint8Array) => void): Promise<number | undefined> {
    const path = `/${escapeSegment(this.bucket)}/${key.split("/").map(escapeSegment).join("/")}`;
    const signed = await this.signer.sign({
      method: "GET",
      protocol: "http:",
      hostname: this.host,
      port: this.port,
      path,
      query: {},
      headers: { host: this.hostHeader },
    });
    const head = `GET ${path} HTTP/1.1\r\n${Object.entries(signed.headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join("\r\n")}\r\n\r\n`;
    const reused = this.idle.pop();
    try {
      return await this.exchange(reused ?? this.connect(), head, sink);
    } catch (err) {
      // A kept connection the server has closed meanwhile fails before any answer: once more on a new one.
      if (reused && err instanceof NoAnswer) return this.exchange(this.connect(), head, sink);
      throw err;
    }
  }

  close(): void {
    for (const c of this.idle.splice(0)) c.socket.destroy();
  }

  private connect(): Connection {
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const conn: Connection = {
      socket: net.connect({
        host: this.host,
        port: this.port,
        onread: {
          buffer,
          callback: (n: number, buf: Uint8Array) => {
            if (conn.onRead) conn.onRead(buf.subarray(0, n));
            else conn.socket.destroy(); // bytes nobody asked for: the connection is not in a known state
            return true;
          },
        },
      }),
    };
    conn.socket.setNoDelay(true);
    // Armed only while a GET waits for bytes (exchange); a silent connection is given up on.
    conn.socket.on("timeout", () => conn.socket.destroy(new Error(`no bytes for ${this.idleTimeoutMs} ms`)));
    const ended = (err: Error) => {
      const i = this.idle.indexOf(conn);
      if (i >= 0) this.idle.splice(i, 1);
      conn.onEnd?.(err);
    };
    conn.socket.on("error", ended);
    conn.socket.on("end", () => ended(new Error("the connection was closed")));
    conn.socket.on("close", () => ended(new Error("the connection was closed")));
    return conn;
  }

  private exchange(conn: Connection, head: string, sink: (piece: Uint8Array) => void): Promise<number | undefined> {
    return new Promise<number | undefined>((resolve, reject) => {
      let answered = false;
      let headBytes = Buffer.alloc(0);
      let length = -1;
      let received = 0;
      let keepAlive = true;
      const done = (result: { value: number | undefined } | { error: Error }, keep: boolean) => {
        conn.onRead = undefined;
        conn.onEnd = undefined;
        conn.socket.setTimeout(0);
        if (keep && this.idle.length < MAX_IDLE) this.idle.push(conn);
        else conn.socket.destroy();
        if ("error" in result) reject(result.error);
        else resolve(result.value);
      };
      const body = (piece: Uint8Array) => {
        if (received + piece.byteLength > length) return done({ error: new Error(`the body ran past its Content-Length ${length}`) }, false);
        received += piece.byteLength;
        try {
          if (piece.byteLength > 0) sink(piece);
        } catch (err) {
          return done({ error: err as Error }, false);
        }
        if (received === length) done({ value: length }, keepAlive);
      };
      conn.onRead = (bytes) => {
        answered = true;
        if (length >= 0) return body(bytes);
        headBytes = Buffer.concat([headBytes, bytes]);
        const end = headBytes.indexOf("\r\n\r\n");
        if (end < 0) {
          if (headBytes.length > MAX_HEAD_BYTES) done({ error: new Error("the response head is too long") }, false);
          return;
        }
        const answer = parseHead(headBytes.toString("latin1", 0, end));
        if (answer === undefined) return done({ value: undefined }, false);
        length = answer.length;
        keepAlive = answer.keepAlive;
        const rest = headBytes.subarray(end + 4);
        headBytes = Buffer.alloc(0);
        if (length === 0 && rest.length === 0) return done({ value: 0 }, keepAlive);
        body(rest);
      };
      conn.onEnd = (err) => done({ error: answered ? new Error(`the body ended after ${received} of ${length} bytes: ${err.message}`) : new NoAnswer(err.message) }, false);
      conn.socket.setTimeout(this.idleTimeoutMs);
      conn.socket.write(head);
    });
  }
}

/** The connection ended or failed before any byte of an answer. */
class NoAnswer extends Error {}

/**
 * The length and keep-alive of a `200` answer with a Content-Length and no
 * transfer coding; undefined for any other answer.
 */
function parseHead(head: string): { length: number; keepAlive: boolean } | undefined {
  const [status, ...lines] = head.split("\r\n");
  if (!/^HTTP\/1\.1 200( |$)/.test(status ?? "")) return undefined;
  let length: number | undefined;
  let keepAlive = true;
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) return undefined;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "transfer-encoding") return undefined;
    if (name === "content-length") {
      if (!/^\d+$/.test(value) || (length !== undefined && length !== Number(value))) return undefined;
      length = Number(value);
    }
    if (name === "connection" && value.toLowerCase().split(/\s*,\s*/).includes("close")) keepAlive = false;
  }
  return length === undefined || !Number.isSafeInteger(length) ? undefined : { length, keepAlive };
}

/** One path segment as S3 signs and reads it: RFC 3986's unreserved characters kept, every other byte %XX. */
function escapeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
