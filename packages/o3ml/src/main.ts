import { buildProgram, exitQuietlyWhenStdoutCloses } from "@o3ml/cli";
import { rebuildIndexOffline } from "@o3ml/storage-service";
import { registerServe } from "./serve.js";

exitQuietlyWhenStdoutCloses();

// The client commands (@o3ml/cli) with what needs the service itself: `o3ml serve`, and the
// offline index rebuild that reads the bucket when no service runs.
const program = buildProgram({ registerServerCommands: registerServe, rebuildIndexOffline });

await program.parseAsync(process.argv);
