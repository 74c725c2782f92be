import { O3mlError } from "@o3ml/errors";
import { quoteName } from "@o3ml/repository";

/**
 * Dataset names and versions, and the "name[@version]" spec that names one
 * version. Names are path-like ("vision/mnist") so they sit in ref keys as
 * they are; '@' separates the version, so neither may contain it.
 */
const SEGMENT = "[A-Za-z0-9][A-Za-z0-9._-]*";
const NAME = new RegExp(`^${SEGMENT}(/${SEGMENT})*$`);
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const MAX_NAME = 200;
const MAX_VERSION = 128;

/** The version a spec without one means. */
export const LATEST = "latest";

export function validateDatasetName(name: unknown): string {
  if (typeof name !== "string" || name.length === 0) {
    throw new O3mlError("INVALID_ARGUMENT", "the dataset name is empty; give one such as 'mnist' or 'vision/cifar10'");
  }
  if (name.length > MAX_NAME || !NAME.test(name)) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `invalid dataset name ${quoteName(name)}: use letters, digits, '.', '_' and '-' in '/'-separated parts, each starting with a letter or digit, at most ${MAX_NAME} characters`,
      { name },
    );
  }
  return name;
}

export function validateVersion(version: unknown): string {
  if (typeof version !== "string" || version.length > MAX_VERSION || !VERSION.test(version) || version === LATEST) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `invalid dataset version ${typeof version === "string" ? quoteName(version) : JSON.stringify(version)}: use letters, digits, '.', '_' and '-', starting with a letter or digit, at most ${MAX_VERSION} characters ('${LATEST}' is reserved)`,
      { version: String(version) },
    );
  }
  return version;
}

/** Splits "name", "name@latest" or "name@version"; the version is LATEST when absent. */
export function parseDatasetSpec(spec: unknown): { name: string; version: string } {
  if (typeof spec !== "string") throw new O3mlError("INVALID_ARGUMENT", "the dataset spec must be a string such as 'mnist@latest'");
  const at = spec.indexOf("@");
  if (at === -1) return { name: validateDatasetName(spec), version: LATEST };
  const name = validateDatasetName(spec.slice(0, at));
  const version = spec.slice(at + 1);
  if (version === LATEST) return { name, version };
  return { name, version: validateVersion(version) };
}
