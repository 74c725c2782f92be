import { Command } from "commander";
import { registerCheckpointCommands } from "./commands/ckpt.js";
import { registerDatasetCommands } from "./commands/dataset.js";
import { registerDu } from "./commands/du.js";
import { registerGc } from "./commands/gc.js";
import { registerHealth } from "./commands/health.js";
import { registerIndexCommands, type OfflineRebuild } from "./commands/index-cmd.js";
import { registerLineage } from "./commands/lineage.js";
import { registerObjectCommands } from "./commands/objects.js";
import { registerRunCommands } from "./commands/runs.js";
import { registerVerify } from "./commands/verify.js";
import { leafCommands } from "./command-tree.js";
import { serviceOption } from "./service-option.js";
import { reportUsageErrors } from "./usage-errors.js";

/**
 * What the program that owns the `o3ml` bin (packages/o3ml) adds to the
 * client commands: the parts that run the server itself, which this package
 * does not depend on.
 */
export interface ServerParts {
  /** Registers the commands that run the service (`o3ml serve`); they head the help and take no --service. */
  registerServerCommands?(program: Command): void;
  /** Rebuilds the index straight from the bucket, for `o3ml index rebuild --offline` when no service runs. */
  rebuildIndexOffline?: OfflineRebuild;
}

/**
 * The `o3ml` command tree: every client command of the service, plus what
 * `server` adds. Usage errors are reported for all of them alike.
 */
export function buildProgram(server: ServerParts = {}): Command {
  const program = new Command("o3ml")
    .description("o3ml: Akave O3 as the primary storage of PyTorch Lightning training")
    .version("0.1.0")
    // Program options only before the command, so `dataset push --version v2` reaches the command.
    .enablePositionalOptions()
    .configureHelp({ sortSubcommands: false });

  server.registerServerCommands?.(program);
  const serverCommands = new Set(leafCommands(program).filter((c) => c !== program));
  registerObjectCommands(program);
  registerRunCommands(program);
  registerLineage(program);
  registerIndexCommands(program, server.rebuildIndexOffline);
  registerDatasetCommands(program);
  registerCheckpointCommands(program);
  registerVerify(program);
  registerDu(program);
  registerGc(program);
  registerHealth(program);

  // Every command but the server's own is a client of the service.
  for (const cmd of leafCommands(program)) if (!serverCommands.has(cmd)) cmd.addOption(serviceOption());
  reportUsageErrors(program);
  return program;
}
