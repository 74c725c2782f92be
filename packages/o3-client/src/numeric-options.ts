import { O3mlError } from "@o3ml/errors";

/**
 * `given` over `defaults`, ignoring undefined members; INVALID_ARGUMENT for a
 * member that is not an integer of at least its minimum in `min` (default 0).
 */
export function resolveNumbers<T extends Record<string, number>>(defaults: T, given: Partial<T> | undefined, min: Partial<T> = {}): T {
  const out = { ...defaults };
  for (const name of Object.keys(defaults) as Array<keyof T & string>) {
    const v = given?.[name];
    if (v === undefined) continue;
    const least = min[name] ?? 0;
    if (!Number.isSafeInteger(v) || v < least) {
      throw new O3mlError("INVALID_ARGUMENT", `${name} must be an integer of at least ${least}, got ${v}`, { option: name });
    }
    out[name] = v;
  }
  return out;
}
