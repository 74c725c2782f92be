import type { Command } from "commander";
import { fail } from "./output.js";
import { serviceAddress } from "./service-option.js";

/**
 * A commander action that runs `fn` with a fresh client of the command's
 * service (--service or O3ML_SERVICE), reports a failure as an o3ml error
 * with its exit code (JSON on stdout too when `machine(...args)` says the
 * output is for machines; by default, with --json), and always closes the
 * client. Commander passes the options object and then the command last.
 */
export function clientAction<C extends { close(): void }, A extends unknown[]>(
  make: (address: string) => C,
  fn: (c: C, ...args: A) => Promise<void>,
  machine: (...args: A) => boolean = (...args) => !!(args[args.length - 2] as { json?: boolean }).json,
) {
  return async (...args: A) => {
    let client: C | undefined;
    try {
      client = make(serviceAddress(args[args.length - 1] as Command));
      await fn(client, ...args);
    } catch (err) {
      fail(err, machine(...args));
    } finally {
      client?.close();
    }
  };
}
