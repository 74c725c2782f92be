import { Command } from "commander";
import { registerCheckpointCommands } from "./commands/ckpt.js";
import { registerDatasetCommands } from "./commands/dataset.js";
import { registerDu } from "./commands/du.js";
import { registerGc } from "./commands/gc.js";
import { registerObjectCommands } from "./commands/objects.js";
import { registerServe } from "./commands/serve.js";
import { registerRunCommands } from "./commands/runs.js";
import { registerLineage } from "./commands/lineage.js";
import { registerIndexCommands } from "./commands/index-cmd.js";
import { registerVerify } from "./commands/verify.js";
import { registerHealth } from "./commands/health.js";
import { leafCommands } from "./command-tree.js";
import { exitQuietlyWhenStdoutCloses } from "./output.js";
import { serviceOption } from "./service-option.js";
import { reportUsageErrors } from "./usage-errors.js";

exitQuietlyWhenStdoutCloses();

const program = new Command("o3ml")
  .description("o3ml: Akave O3 as the primary storage of PyTorch Lightning training")
  .version("0.1.0")
  // Program options only before the command, so `dataset push --version v2` reaches the command.
  .enablePositionalOptions()
  .configureHelp({ sortSubcommands: false });

registerServe(program);
registerObjectCommands(program);
registerRunCommands(program);
registerLineage(program);
registerIndexCommands(program);
registerDatasetCommands(program);
registerCheckpointCommands(program);
registerVerify(program);
registerDu(program);
registerGc(program);
registerHealth(program);

// Every command but serve is a client of the service.
for (const cmd of leafCommands(program)) if (cmd.name() !== "serve") cmd.addOption(serviceOption());
reportUsageErrors(program);

await program.parseAsync(process.argv);
