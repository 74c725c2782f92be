import type { ServiceDefinition, MethodDefinition } from "@grpc/grpc-js";
import { createRequire } from "node:module";
import { o3ml } from "./gen/o3ml.js";

const require = createRequire(import.meta.url);
const descriptor = require("./gen/descriptor.json") as Descriptor;

interface Descriptor {
  nested: { o3ml: { nested: { v1: { nested: Record<string, { methods?: Record<string, MethodJson> }> } } } };
}
interface MethodJson {
  requestType: string;
  responseType: string;
  requestStream?: boolean;
  responseStream?: boolean;
}
interface Codec {
  encode(m: unknown): { finish(): Uint8Array };
  decode(b: Uint8Array): unknown;
}

const cache = new Map<string, ServiceDefinition>();

/**
 * The grpc-js definition of `o3ml.v1.<name>`: paths, streaming kinds and
 * (de)serialisers all derived from the generated descriptor and classes.
 */
export function grpcService(name: string): ServiceDefinition {
  const hit = cache.get(name);
  if (hit) return hit;
  const svc = descriptor.nested.o3ml.nested.v1.nested[name];
  if (!svc?.methods) throw new Error(`no service o3ml.v1.${name} in proto/`);
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [method, m] of Object.entries(svc.methods)) {
    const req = codec(m.requestType);
    const res = codec(m.responseType);
    def[lowerFirst(method)] = {
      path: `/o3ml.v1.${name}/${method}`,
      requestStream: !!m.requestStream,
      responseStream: !!m.responseStream,
      requestSerialize: (v) => asBuffer(req.encode(v).finish()),
      requestDeserialize: (b) => req.decode(b),
      responseSerialize: (v) => asBuffer(res.encode(v).finish()),
      responseDeserialize: (b) => res.decode(b),
      originalName: method,
    };
  }
  cache.set(name, def);
  return def;
}

function codec(typeName: string): Codec {
  const c = (o3ml.v1 as unknown as Record<string, Codec>)[typeName];
  if (!c) throw new Error(`no message o3ml.v1.${typeName} in proto/`);
  return c;
}

/**
 * The encoded message as a Buffer without copying it: protobufjs already
 * returns a Buffer under Node, and `Buffer.from` would copy every message
 * once more (1 MiB per data message of a read), garbage that only the next
 * collection frees and that shows up in the service's resident size.
 */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
