import { buildProgram, exitQuietlyWhenStdoutCloses, type OfflineRebuild } from "@o3ml/cli";
import { registerServe } from "./serve.js";

exitQuietlyWhenStdoutCloses();

// The client commands (@o3ml/cli) with what needs the service itself: `o3ml serve`, and the
// offline index rebuild that reads the bucket when no service runs. The service (the AWS SDK,
// the index databases) is loaded by those two alone: every other command talks to a running
// service, and loading it would add about 0.2 s to each of them.
const rebuildIndexOffline: OfflineRebuild = async (warn) => (await import("@o3ml/storage-service")).rebuildIndexOffline(warn);
const program = buildProgram({ registerServerCommands: registerServe, rebuildIndexOffline });

await program.parseAsync(process.argv);
