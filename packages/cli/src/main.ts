import { Command } from "commander";
import { registerObjectCommands } from "./commands/objects.js";
import { registerServe } from "./commands/serve.js";

const program = new Command("o3ml")
  .description("o3ml: Akave O3 as the primary storage of PyTorch Lightning training")
  .version("0.1.0")
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: false });

registerServe(program);
registerObjectCommands(program);

await program.parseAsync(process.argv);
