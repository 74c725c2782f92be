import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import { o3ml } from "@o3ml/proto";
import { unary, type RpcContext } from "../rpc-handlers.js";
import type { DatasetRepository } from "./dataset-repository.js";

type V1 = typeof o3ml.v1;

/** A decoded manifest as the repository takes it: 64-bit fields decode as Long objects, plain numbers from here on. */
export function manifestFromWire(m: o3ml.v1.DatasetManifest): o3ml.v1.DatasetManifest.$Properties {
  return o3ml.v1.DatasetManifest.toObject(m, { longs: Number });
}

/** The DatasetService handlers: plain async functions over the repository. */
export function datasetService(repo: DatasetRepository, ctx: RpcContext): UntypedServiceImplementation {
  return {
    commit: unary(ctx, "DatasetCommit", async (req: InstanceType<V1["CommitDatasetRequest"]>) =>
      repo.commit(req.manifest ? manifestFromWire(req.manifest as o3ml.v1.DatasetManifest) : {}),
    ),
    resolve: unary(ctx, "DatasetResolve", async (req: InstanceType<V1["ResolveDatasetRequest"]>) => repo.resolve(req.spec ?? "")),
    list: unary(ctx, "DatasetList", async (req: InstanceType<V1["ListDatasetsRequest"]>) => ({ versions: await repo.list(req.name ?? "") })),
    delete: unary(ctx, "DatasetDelete", async (req: InstanceType<V1["DeleteDatasetRequest"]>) => repo.delete(req.name ?? "", req.version ?? "", !!req.force)),
  };
}
