import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * Secrets never reach logs or error messages: every log file an o3ml process
 * wrote during the run (service, CLI, trainer) and every error text the suite
 * collected is searched for the S3 secret key and the bearer token, raw and
 * base64-encoded. Files named *.external.log belong to other software (MinIO)
 * and are skipped: what MinIO logs about its own root password is not o3ml's output.
 */
export interface ScanReport {
  files: number;
  bytes: number;
  texts: number;
  leaks: string[];
}

export function scanForSecrets(logDir: string, texts: string[], secrets: string[]): ScanReport {
  const needles = secrets.flatMap((s) => [s, Buffer.from(s).toString("base64")]);
  const report: ScanReport = { files: 0, bytes: 0, texts: texts.length, leaks: [] };
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        walk(path);
        continue;
      }
      if (name.endsWith(".external.log")) continue;
      const text = readFileSync(path, "latin1");
      report.files++;
      report.bytes += text.length;
      for (const n of needles) if (text.includes(n)) report.leaks.push(`${name} contains a secret`);
    }
  };
  walk(logDir);
  texts.forEach((t, i) => {
    for (const n of needles) if (t.includes(n)) report.leaks.push(`collected error text #${i} contains a secret`);
  });
  return report;
}
