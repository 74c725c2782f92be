import type { RunRecord, WireCheckpointInfo, WireVersionInfo } from "@o3ml/client";

/**
 * The names a user may mean by a run or a dataset, from what the service's
 * listing calls return: what name-suggestions.ts picks the nearest from
 * when a name is not found.
 */

/** Each registered run's name and id. */
export function runNames(runs: RunRecord[]): string[] {
  return runs.flatMap((r) => [r.name, r.id]);
}

/** The runs checkpoints name: an id the trainer gave, registered or not (services/storage/src/checkpoints/checkpoint-info.ts). */
export function checkpointRuns(checkpoints: WireCheckpointInfo[]): string[] {
  return checkpoints.map((c) => c.run ?? "").filter(Boolean);
}

/** Each dataset version as name@version. */
export function datasetVersions(versions: WireVersionInfo[]): string[] {
  return versions.map((v) => `${v.name}@${v.version}`);
}

/** Every spec that names a dataset version: name, name@latest, name@version and name@<manifest CID>. */
export function datasetNames(versions: WireVersionInfo[]): string[] {
  const names = [...new Set(versions.map((v) => v.name))];
  return [...names, ...names.map((n) => `${n}@latest`), ...datasetVersions(versions), ...versions.map((v) => `${v.name}@${v.cid}`)];
}
