import type { Command } from "commander";
import { allCommands, commandPath } from "./command-tree.js";

/** Commander's codes for a command line it cannot take as written. */
const USAGE_ERRORS = new Set([
  "commander.unknownOption",
  "commander.unknownCommand",
  "commander.excessArguments",
  "commander.missingArgument",
  "commander.optionMissingArgument",
  "commander.missingMandatoryOptionValue",
  "commander.invalidArgument",
  "commander.conflictingOption",
]);

/**
 * A mistyped command line ends with commander's one-line error (with its
 * "Did you mean" when it has one) and where the usage is, not the whole
 * help, which would bury the error; it exits 2, the code output.ts gives
 * INVALID_ARGUMENT.
 */
export function reportUsageErrors(program: Command): void {
  for (const cmd of allCommands(program)) {
    cmd.showHelpAfterError(`run '${commandPath(cmd)} --help' for its usage`);
    cmd.exitOverride((err) => process.exit(USAGE_ERRORS.has(err.code) ? 2 : err.exitCode));
  }
}
