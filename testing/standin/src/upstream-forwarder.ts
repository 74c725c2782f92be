import { Agent, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import type { UpstreamAnswer } from "./upstream-answer.js";

// Connection-level headers that belong to one hop, not to the request. None
// of them is part of a SigV4 signature (the SDK never signs them), so
// dropping them leaves the client's signature valid. `expect` is answered by
// this layer itself (it sends the 100 Continue).
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "upgrade", "te", "trailer", "expect"]);

function withoutHopByHop(headers: IncomingHttpHeaders, extra: string[] = []): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || extra.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Sends requests on to the upstream S3 server exactly as the client made
 * them: same method, path, query and headers, Host included. SigV4 signs the
 * Host the client used, so the upstream must see that Host to accept the
 * signature; moto and MinIO both verify signatures against the Host header
 * they receive and accept the proxy's. Bodies are piped in both directions,
 * never buffered.
 */
export class UpstreamForwarder {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly host: string;
  private readonly port: number;

  constructor(endpoint: string) {
    const url = new URL(endpoint);
    this.host = url.hostname;
    this.port = Number(url.port || 80);
  }

  /**
   * Forwards `req`; its body is piped unless `body` is given (a body this
   * layer already read, unchanged, so its signed payload hash still holds),
   * with its own headers unless `headers` is given (re-signed by the layer).
   */
  forward(req: IncomingMessage, opts: { body?: Buffer; headers?: IncomingHttpHeaders; signal?: AbortSignal } = {}): Promise<UpstreamAnswer> {
    return new Promise((resolve, reject) => {
      const out = request(
        {
          host: this.host,
          port: this.port,
          method: req.method,
          path: req.url,
          headers: withoutHopByHop(opts.headers ?? req.headers),
          agent: this.agent,
          signal: opts.signal,
        },
        (res: IncomingMessage) => {
          resolve({
            status: res.statusCode ?? 502,
            headers: withoutHopByHop(res.headers, ["transfer-encoding"]),
            body: res,
            discard: () => res.destroy(),
          });
        },
      );
      out.on("error", reject);
      if (opts.body) {
        out.end(opts.body);
        return;
      }
      // pipe(), not pipeline(): if the upstream answers before reading the
      // whole body (an early 403), the client's request must stay open so
      // that the answer can still be relayed to it.
      req.on("close", () => {
        if (!req.complete) out.destroy();
      });
      req.pipe(out);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
