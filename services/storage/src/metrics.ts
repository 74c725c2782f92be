import { createServer, type Server } from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The service's Prometheus metrics; one registry per service instance. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly storeBytesWritten = new Counter({
    name: "o3ml_store_bytes_written_total",
    help: "Bytes sent to the object store (blobs, manifests, refs).",
    registers: [this.registry],
  });
  readonly storeBytesRead = new Counter({
    name: "o3ml_store_bytes_read_total",
    help: "Bytes read from the object store.",
    registers: [this.registry],
  });
  readonly storeRequests = new Counter({
    name: "o3ml_store_requests_total",
    help: "Requests sent to the object store, by operation.",
    labelNames: ["op"],
    registers: [this.registry],
  });
  readonly dedupBytes = new Counter({
    name: "o3ml_dedup_bytes_total",
    help: "Bytes not uploaded because their blob was already stored.",
    registers: [this.registry],
  });
  readonly rpcDuration = new Histogram({
    name: "o3ml_rpc_duration_seconds",
    help: "gRPC call duration by method and o3ml code.",
    labelNames: ["method", "code"],
    buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60],
    registers: [this.registry],
  });

  /** The whole bucket's storage figures, set each time usage is computed (`o3ml du`, StorageUsage). */
  readonly storeUsage = {
    logical: this.gauge("o3ml_store_logical_bytes", "Sizes users see (objects, checkpoints, dataset versions), as of the last storage usage computation."),
    stored: this.gauge("o3ml_store_stored_bytes", "Blobs, manifests and refs that something live reaches, each counted once, as of the last storage usage computation."),
    shared: this.gauge("o3ml_store_shared_bytes", "Blobs that two or more live items name (stored once through dedup), as of the last storage usage computation."),
    reclaimable: this.gauge("o3ml_store_reclaimable_bytes", "What gc with no grace period would delete, as of the last storage usage computation."),
    noncurrent: this.gauge("o3ml_store_noncurrent_version_bytes", "Older object versions a versioned store keeps under o3ml/v1/, as of the last storage usage computation."),
    total: this.gauge("o3ml_store_total_bytes", "Every current key under o3ml/v1/, as of the last storage usage computation."),
  };

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  private gauge(name: string, help: string): Gauge {
    return new Gauge({ name, help, registers: [this.registry] });
  }

  /** Serves GET /metrics in Prometheus text format on `host:port`. */
  async listen(host: string, port: number): Promise<{ server: Server; port: number }> {
    const server = createServer((req, res) => {
      if (req.url !== "/metrics") {
        res.writeHead(404).end("try /metrics\n");
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": this.registry.contentType }).end(text),
        (err) => res.writeHead(500).end(String(err)),
      );
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
    const addr = server.address();
    return { server, port: typeof addr === "object" && addr ? addr.port : port };
  }
}
