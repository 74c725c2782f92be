/**
 * WAN emulation between the client side (o3ml service, SDK) and a store.
 *
 * netem is the proper tool, but this host's kernel has no netem qdisc (and
 * shaping the shared loopback would slow every other process on it), so the
 * benchmark puts a small TCP relay on 127.0.0.1 in front of the store: each
 * direction delays every chunk by the one-way latency and paces the bytes
 * to the bandwidth, which is what netem's delay + rate do. `netemStatus`
 * records whether netem would have been usable, for the report.
 */
import { execFileSync } from "node:child_process";
import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export interface WanLink {
  endpoint: string;
  stop(): Promise<void>;
}

/** Tries netem inside a throw-away network namespace (never on the shared loopback). */
export function netemStatus(): string {
  try {
    execFileSync("unshare", ["-n", "sh", "-c", "ip link set lo up && tc qdisc add dev lo root netem delay 1ms"], { stdio: "pipe", timeout: 5000 });
    return "available";
  } catch (err) {
    const why = String((err as { stderr?: Buffer }).stderr ?? err).trim().split("\n")[0];
    return `not available here (${why})`;
  }
}

/**
 * One direction: delay each chunk by `delayMs` and pace to `bytesPerMs`, in
 * order (one FIFO and one timer: separate timers per chunk may fire out of
 * order and reorder the stream), with backpressure on the source.
 */
function shape(from: Socket, to: Socket, delayMs: number, bytesPerMs: number): void {
  const queue: Array<{ at: number; chunk: Buffer | null }> = [];
  let lastRelease = 0;
  let queued = 0;
  let timer: NodeJS.Timeout | undefined;
  const pump = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length && queue[0]!.at <= now) {
      const { chunk } = queue.shift()!;
      if (chunk === null) {
        to.end();
        return;
      }
      queued -= chunk.length;
      if (!to.destroyed) to.write(chunk);
    }
    if (queued <= 1024 * 1024 && from.isPaused()) from.resume();
    if (queue.length) timer = setTimeout(pump, Math.max(0, queue[0]!.at - now));
  };
  const enqueue = (chunk: Buffer | null) => {
    const now = performance.now();
    lastRelease = Math.max(now + delayMs, lastRelease + (chunk ? chunk.length / bytesPerMs : 0));
    queue.push({ at: lastRelease, chunk });
    if (timer === undefined) timer = setTimeout(pump, Math.max(0, queue[0]!.at - now));
  };
  from.on("data", (chunk: Buffer) => {
    queued += chunk.length;
    if (queued > 4 * 1024 * 1024) from.pause();
    enqueue(chunk);
  });
  from.on("end", () => enqueue(null));
  from.on("error", () => to.destroy());
  to.on("close", () => timer && clearTimeout(timer));
}

/** A relay to `upstream` (http://host:port) adding `latencyMs` each way and capping bandwidth. */
export async function startWanLink(upstream: string, latencyMs: number, bandwidthMiBps: number): Promise<WanLink> {
  const { hostname, port } = new URL(upstream);
  const bytesPerMs = (bandwidthMiBps * 1024 * 1024) / 1000;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const store = connect(Number(port), hostname);
    for (const s of [client, store]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    shape(client, store, latencyMs, bytesPerMs);
    shape(store, client, latencyMs, bytesPerMs);
    client.on("close", () => store.destroy());
    store.on("close", () => client.destroy());
  });
  const addr = await new Promise<AddressInfo>((resolve) => server.listen(0, "127.0.0.1", () => resolve(server.address() as AddressInfo)));
  return {
    endpoint: `http://127.0.0.1:${addr.port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
