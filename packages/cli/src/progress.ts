import cliProgress from "cli-progress";

/** Transfers smaller than this finish too fast for a bar to help. */
const MIN_BYTES = 8 * 1024 * 1024;

export interface Progress {
  tick(bytes: number): void;
  stop(): void;
}

/** A bar over a number of items, each named as it starts; tick counts the bytes read. */
export interface ItemProgress extends Progress {
  next(name: string): void;
}

const mib = (n: number) => (n / 1048576).toFixed(1);

/** Bars go to stderr, and only where someone watches it: an interactive terminal, and never with --json. */
function shown(json: boolean): boolean {
  return !json && !!process.stderr.isTTY;
}

function barOn(format: string, clearOnComplete = false): cliProgress.SingleBar {
  return new cliProgress.SingleBar({ stream: process.stderr, format, hideCursor: true, clearOnComplete }, cliProgress.Presets.shades_classic);
}

/** A byte-progress bar for a long transfer (none for one under MIN_BYTES). */
export function progressFor(label: string, total: number | undefined, json: boolean): Progress {
  if (!shown(json) || (total !== undefined && total < MIN_BYTES)) return { tick() {}, stop() {} };
  const bar = barOn(`${label} [{bar}] {percentage}% {value_mib}/{total_mib} MiB {speed}`);
  const t0 = Date.now();
  let done = 0;
  let shownTotal = total ?? 0;
  bar.start(shownTotal, 0, { value_mib: "0", total_mib: total === undefined ? "?" : mib(total), speed: "" });
  return {
    tick(bytes) {
      done += bytes;
      // A total that was an estimate (a scan's sizes before tar headers) grows
      // with the work rather than show more done than there is to do.
      if (total !== undefined && done > shownTotal) bar.setTotal((shownTotal = done));
      const secs = (Date.now() - t0) / 1000;
      bar.update(done, { value_mib: mib(done), total_mib: total === undefined ? "?" : mib(shownTotal), speed: secs > 0 ? `${mib(done / secs)} MiB/s` : "" });
    },
    stop() {
      bar.stop();
    },
  };
}

/**
 * Progress through `total` items (`o3ml verify`'s checkpoints, dataset
 * versions and objects): how many, the bytes read so far and the item at
 * hand. It clears itself when stopped, leaving the report alone.
 */
export function itemProgressFor(label: string, total: number, json: boolean): ItemProgress {
  if (!shown(json) || total === 0) return { next() {}, tick() {}, stop() {} };
  const bar = barOn(`${label} [{bar}] {value}/{total}  {read_mib} MiB  {item}`, true);
  let started = 0;
  let read = 0;
  bar.start(total, 0, { read_mib: "0.0", item: "" });
  return {
    next(name) {
      bar.update(++started, { item: name });
      // Drawn now: an item done within the bar's redraw interval (100 ms) would otherwise never be named.
      bar.render();
    },
    tick(bytes) {
      read += bytes;
      bar.update({ read_mib: mib(read) });
    },
    stop() {
      bar.stop();
    },
  };
}
