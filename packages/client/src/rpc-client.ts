import { makeGenericClientConstructor, Metadata, type Client, type ClientReadableStream, type ClientWritableStream, type ServiceError } from "@grpc/grpc-js";
import { O3mlError } from "@o3ml/errors";
import { grpcService, MESSAGE_LIMIT_OPTIONS } from "@o3ml/proto";
import { handshake, type Colocated } from "./colocation.js";
import { serviceChannel } from "./service-address.js";
import { clientTlsFromEnv, type ClientTls } from "./tls.js";

type Methods = Record<string, (...a: unknown[]) => unknown>;

/**
 * The HTTP/2 receive window this client offers (per stream and for the connection), instead of
 * the protocol's 64 KiB: a stream may then have this much in flight before the service waits for
 * a window update, which over a link with latency caps a read at window / round trip. On
 * loopback a warm 16 MiB get went from 124 to 112 ms (docs/performance.md).
 */
const FLOW_CONTROL_WINDOW = 16 * 1024 * 1024;

/**
 * The client side shared by every o3ml service client: one connection to
 * `address` or else O3ML_SERVICE (default 127.0.0.1:7433, in any form
 * service-address.ts reads), the bearer token from O3ML_TOKEN, and errors
 * turned back into O3mlError (the service puts the code in the `o3ml-code`
 * trailer).
 */
export class RpcClient {
  protected readonly client: Client & Methods;
  protected readonly md: Metadata;
  readonly address: string;
  private readonly channel: ReturnType<typeof serviceChannel>;
  private colocation: Promise<Colocated | { why: string }> | undefined;

  constructor(service: string, address?: string, token = process.env.O3ML_TOKEN, tls: ClientTls | undefined = clientTlsFromEnv()) {
    const channel = serviceChannel(address, tls);
    this.channel = channel;
    this.address = channel.address;
    this.client = this.clientOf(service);
    this.md = new Metadata();
    if (token) this.md.set("authorization", `Bearer ${token}`);
  }

  close(): void {
    this.client.close();
  }

  /**
   * Whether this process shares the service's filesystem (colocation.ts), asked
   * once per client (again after forgetColocation, or when no service answered);
   * the reason when it does not.
   */
  colocated(): Promise<Colocated | { why: string }> {
    const asked = (this.colocation ??= (async () => {
      const admin = this.clientOf("AdminService");
      try {
        return await handshake(admin, this.md);
      } finally {
        admin.close();
      }
    })());
    return asked.catch((err: Error) => {
      // No service answered (not started yet, restarting): nothing is known, so the next call asks again.
      if (this.colocation === asked) this.colocation = undefined;
      return { why: `no service answered the handshake (${err.message})` };
    });
  }

  /** Forgets the handshake's answer: the next call that could use files asks again. */
  protected forgetColocation(): void {
    this.colocation = undefined;
  }

  private clientOf(service: string): Client & Methods {
    const Ctor = makeGenericClientConstructor(grpcService(service), service);
    return new Ctor(this.channel.target, this.channel.credentials, { ...MESSAGE_LIMIT_OPTIONS, "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW }) as never;
  }

  protected unary<Res>(method: string, req: object, timeoutMs = 60_000): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.client[method]!(req, this.md, { deadline: Date.now() + timeoutMs }, (err: ServiceError | null, res: Res) =>
        err ? reject(this.wrap(err)) : resolve(res),
      );
    });
  }

  /** Every message of a server stream, errors as O3mlError. */
  protected async *serverStream<Res>(method: string, req: object): AsyncGenerator<Res> {
    const call = this.client[method]!(req, this.md) as ClientReadableStream<Res>;
    try {
      for await (const m of call as AsyncIterable<Res>) yield m;
    } catch (err) {
      throw this.wrap(err);
    } finally {
      // Stopping early (or failing) must not leave the service streaming into the void.
      call.cancel();
    }
  }

  /**
   * Sends `messages` on a client stream and resolves with the response. When
   * `messages` throws, the call is cancelled (the service then commits nothing).
   */
  protected clientStream<Res>(method: string, messages: AsyncIterable<object>, what: string): Promise<Res> {
    return new Promise((resolve, reject) => {
      const call = this.client[method]!(this.md, (err: ServiceError | null, res: Res) => (err ? reject(this.wrap(err)) : resolve(res))) as ClientWritableStream<object>;
      (async () => {
        for await (const m of messages) {
          if (!call.write(m)) await new Promise((r) => call.once("drain", r));
        }
        call.end();
      })().catch((err) => {
        call.cancel();
        reject(O3mlError.from(err, what));
      });
    });
  }

  protected wrap(err: unknown): O3mlError {
    const e = O3mlError.from(err);
    // Only a failure of the channel itself means the service is unreachable; an
    // UNAVAILABLE the service sent (with its o3ml-code trailer) is about the store.
    const fromService = (err as { metadata?: { get?(k: string): unknown[] } })?.metadata?.get?.("o3ml-code")?.length;
    if (!fromService && e.code === "UNAVAILABLE" && /No connection established|ECONNREFUSED|connect/i.test(e.message)) {
      return new O3mlError("UNAVAILABLE", `cannot reach the o3ml service at ${this.address}: start it with 'o3ml serve' or set O3ML_SERVICE`, {}, { cause: err });
    }
    return e;
  }
}
