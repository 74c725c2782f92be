import type { Command } from "commander";

/** `root` and every command below it, parents before their subcommands. */
export function allCommands(root: Command): Command[] {
  return [root, ...root.commands.flatMap(allCommands)];
}

/** The commands that run something (no subcommands of their own), such as `ckpt ls`. */
export function leafCommands(root: Command): Command[] {
  return allCommands(root).filter((c) => c.commands.length === 0);
}

/** How a user types `cmd`: "o3ml ckpt ls". */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}
