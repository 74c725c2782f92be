import { readFileSync } from "node:fs";
import { decodeEvent } from "@o3ml/repository";
import { openIndex } from "./open-index.js";

/**
 * A second writer in its own process, for the concurrency tests: opens the
 * index described in the job file named by $O3ML_WRITER_JOB, says "ready",
 * applies the job's events one transaction each (pausing between them), and
 * prints how many were new. Run through vite-node so it uses the sources under test.
 */
interface Job {
  options: { home?: string; databaseUrl?: string; store: string };
  /** Base64 of encoded events. */
  events: string[];
}

const job = JSON.parse(readFileSync(process.env.O3ML_WRITER_JOB ?? "", "utf8")) as Job;
const index = await openIndex({ ...job.options, env: {} });
process.stdout.write("ready\n");
let fresh = 0;
for (const e of job.events) {
  if (await index.apply(decodeEvent(Buffer.from(e, "base64")))) fresh++;
  // Pause as the test's own writer does (see metadata-index.test.ts).
  await new Promise((r) => setTimeout(r, 1));
}
await index.close();
process.stdout.write(`fresh ${fresh}\n`);
