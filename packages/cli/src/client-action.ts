import { fail } from "./output.js";

/**
 * A commander action that runs `fn` with a fresh service client, reports a
 * failure as an o3ml error with its exit code (JSON on stdout with --json),
 * and always closes the client. Commander passes the options object second to last.
 */
export function clientAction<C extends { close(): void }, A extends unknown[]>(make: () => C, fn: (c: C, ...args: A) => Promise<void>) {
  return async (...args: A) => {
    const opts = args[args.length - 2] as { json?: boolean };
    const client = make();
    try {
      await fn(client, ...args);
    } catch (err) {
      fail(err, !!opts.json);
    } finally {
      client.close();
    }
  };
}
