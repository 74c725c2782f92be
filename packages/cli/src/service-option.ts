import { Option, type Command } from "commander";
import { DEFAULT_SERVICE_ADDRESS, SERVICE_ADDRESS_FORMS, parseServiceAddress } from "@o3ml/client";

/** `--service <address>`: which service a command talks to; O3ML_SERVICE when not given. */
export function serviceOption(): Option {
  return new Option("--service <address>", `the o3ml service: ${SERVICE_ADDRESS_FORMS}`).env("O3ML_SERVICE").default(DEFAULT_SERVICE_ADDRESS);
}

/**
 * The address `cmd` was given (--service, else O3ML_SERVICE, else the
 * default), checked here so that a bad one is named as the user gave it.
 */
export function serviceAddress(cmd: Command): string {
  const value = cmd.opts<{ service?: string }>().service || DEFAULT_SERVICE_ADDRESS;
  parseServiceAddress(value, cmd.getOptionValueSource("service") === "cli" ? "--service" : "O3ML_SERVICE");
  return value;
}
