export { RpcClient } from "./rpc-client.js";
export { ServiceClient } from "./service-client.js";
export { DatasetClient, MAX_HAS_CIDS, plainInfo as plainVersionInfo, plainManifest as plainDatasetManifest } from "./dataset-client.js";
export { CheckpointClient, selectorOf, type EntryToSave } from "./checkpoint-client.js";
export { AdminClient } from "./admin-client.js";
export { MetadataClient, type RunRegistration } from "./metadata-client.js";
export { checkHealth, type HealthStatus } from "./health-client.js";
export { DEFAULT_SERVICE_ADDRESS, SERVICE_ADDRESS_FORMS, parseServiceAddress, serviceChannel, unixSocketPath, type ServiceAddress } from "./service-address.js";
export { channelCredentials, clientTlsFromEnv, readPem, type ClientTls } from "./tls.js";
export {
  artifactFromWire,
  artifactToWire,
  checkpointFromWire,
  checkpointToWire,
  parseHyperparameters,
  runFromWire,
  runToWire,
  type ArtifactRecord,
  type CheckpointRecord,
  type CheckpointState,
  type RunRecord,
  type WireArtifactInfo,
  type WireCheckpointRecord,
  type WireRunInfo,
} from "./metadata-records.js";
export type * from "./messages.js";
