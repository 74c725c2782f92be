import type { ServerReadableStream, UntypedServiceImplementation } from "@grpc/grpc-js";
import { O3mlError } from "@o3ml/errors";
import type { o3ml } from "@o3ml/proto";
import { clientStream, serverStream, unary, writeMessage, type RpcContext } from "../rpc-handlers.js";
import type { CheckpointRepository } from "./checkpoint-repository.js";
import type { SaveMessage } from "./checkpoint-save.js";

type V1 = typeof o3ml.v1;
type Selector = InstanceType<V1["CheckpointSelector"]>;

/** The CheckpointService handlers: plain async functions over the repository. */
export function checkpointService(repo: CheckpointRepository, ctx: RpcContext): UntypedServiceImplementation {
  return {
    save: clientStream(ctx, "Checkpoint.Save", async (call: ServerReadableStream<SaveMessage, unknown>) => {
      const it = call[Symbol.asyncIterator]() as AsyncIterator<SaveMessage>;
      const first = await it.next();
      if (first.done || !first.value.header) {
        throw new O3mlError("INVALID_ARGUMENT", "a Save stream must start with a CheckpointHeader naming the key and the run");
      }
      const rest: AsyncIterable<SaveMessage> = { [Symbol.asyncIterator]: () => it };
      return repo.save(first.value.header, rest, () => call.cancelled);
    }),

    load: serverStream(ctx, "Checkpoint.Load", async (req: Selector, call) => {
      for await (const msg of repo.load(req)) await writeMessage(call, msg);
    }),

    locate: serverStream(ctx, "Checkpoint.Locate", async (req: Selector, call) => {
      for await (const msg of repo.locate(req)) await writeMessage(call, msg);
    }),

    recall: unary(ctx, "Checkpoint.Recall", async (req: InstanceType<V1["RecallRequest"]>) => {
      if ((req.entries ?? []).length > 1_000_000) throw new O3mlError("INVALID_ARGUMENT", "recall: more than 1,000,000 entries in one request");
      return repo.recall(req.run ?? "", req.entries ?? []);
    }),

    // Whether a checkpoint exists is a routine question: NOT_FOUND is no warning.
    stat: unary(ctx, "Checkpoint.Stat", (req: Selector) => repo.stat(req), { expected: ["NOT_FOUND"] }),

    list: unary(ctx, "Checkpoint.List", async (req: InstanceType<V1["ListCheckpointsRequest"]>) => ({
      checkpoints: await repo.list(req.run ?? "", req.prefix ?? ""),
    })),

    verify: unary(ctx, "Checkpoint.Verify", (req: Selector) => repo.verify(req)),

    prune: unary(ctx, "Checkpoint.Prune", (req: InstanceType<V1["PruneRequest"]>) => repo.prune(req)),

    pin: unary(ctx, "Checkpoint.Pin", (req: InstanceType<V1["PinRequest"]>) => repo.pin(req.checkpoint ?? {}, true)),

    unpin: unary(ctx, "Checkpoint.Unpin", (req: InstanceType<V1["PinRequest"]>) => repo.pin(req.checkpoint ?? {}, false)),

    readArchive: serverStream(ctx, "Checkpoint.ReadArchive", async (req: InstanceType<V1["ReadArchiveRequest"]>, call) => {
      for await (const msg of repo.readArchive(req.checkpoint ?? {}, Number(req.offset ?? 0), Number(req.length ?? 0))) await writeMessage(call, msg);
    }),
  };
}
