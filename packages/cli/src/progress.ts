import cliProgress from "cli-progress";

/** Transfers smaller than this finish too fast for a bar to help. */
const MIN_BYTES = 8 * 1024 * 1024;

export interface Progress {
  tick(bytes: number): void;
  stop(): void;
}

/** A byte-progress bar on stderr, only for long transfers on an interactive terminal and never with --json. */
export function progressFor(label: string, total: number | undefined, json: boolean): Progress {
  if (json || !process.stderr.isTTY || (total !== undefined && total < MIN_BYTES)) return { tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {percentage}% {value_mib}/{total_mib} MiB {speed}`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const t0 = Date.now();
  let done = 0;
  const mib = (n: number) => (n / 1048576).toFixed(1);
  bar.start(total ?? 0, 0, { value_mib: "0", total_mib: total === undefined ? "?" : mib(total), speed: "" });
  return {
    tick(bytes) {
      done += bytes;
      const secs = (Date.now() - t0) / 1000;
      bar.update(done, { value_mib: mib(done), speed: secs > 0 ? `${mib(done / secs)} MiB/s` : "" });
    },
    stop() {
      bar.stop();
    },
  };
}
