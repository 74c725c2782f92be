/**
 * o3ml's object workflows on one target, through the running service over
 * loopback gRPC (put/get/stat/list/delete and ranged reads, as the CLI and
 * the Python client use them) and through o3ml's BlobStore for multipart
 * (the path 64 MiB dataset shards take), every byte compared.
 */
import { randomBytes } from "node:crypto";
import { O3mlError } from "@o3ml/errors";
import { createBlobStore } from "@o3ml/o3-client";
import { ServiceClient } from "@o3ml/client";
import { expect, type WorkflowCheck } from "./parity-matrix.js";
import type { TargetSession } from "./target-session.js";

const MiB = 1024 * 1024;

export async function* pieces(buf: Uint8Array, piece = 2 * MiB): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < buf.byteLength; off += piece) yield buf.subarray(off, Math.min(buf.byteLength, off + piece));
}

export async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts);
}

export function objectChecks(s: TargetSession, client: ServiceClient): WorkflowCheck[] {
  const base = `${s.prefix}/objects`;
  const body = randomBytes(3 * MiB + 12345);
  return [
    {
      workflow: "object put",
      layer: "o3ml",
      about: "3 MiB through the service: chunked, hashed, blobs + manifest + ref",
      run: async () => {
        const res = await client.put(`${base}/a`, pieces(body), { size: body.byteLength });
        expect(Number(res.info?.size) === body.byteLength, `the service stored ${res.info?.size} bytes of ${body.byteLength}`);
      },
    },
    {
      workflow: "object get",
      layer: "o3ml",
      about: "streamed back and verified by the service, bytes compared",
      run: async () => {
        const { data } = await client.get(`${base}/a`);
        expect(body.equals(await collect(data)), "get returned other bytes than were put");
      },
    },
    {
      workflow: "object stat",
      layer: "o3ml",
      about: "size and content hash of the newest version",
      run: async () => {
        const info = await client.stat(`${base}/a`);
        expect(Number(info.size) === body.byteLength, `stat says ${info.size} bytes`);
      },
    },
    {
      workflow: "object list",
      layer: "o3ml",
      about: "3 keys under a prefix, in order",
      run: async () => {
        for (const k of ["l1", "l2"]) await client.put(`${base}/list/${k}`, pieces(body.subarray(0, 4096)), { size: 4096 });
        await client.put(`${base}/list/l0`, pieces(body.subarray(0, 4096)), { size: 4096 });
        const keys: string[] = [];
        for await (const o of client.listAll(`${base}/list/`)) keys.push(o.key);
        expect(JSON.stringify(keys) === JSON.stringify(["l0", "l1", "l2"].map((k) => `${base}/list/${k}`)), `listed ${JSON.stringify(keys)}`);
      },
    },
    {
      workflow: "object ranged read",
      layer: "o3ml",
      about: "offset 1 MiB + 7, 2 MiB long, across a chunk boundary",
      run: async () => {
        const offset = MiB + 7;
        const { data } = await client.get(`${base}/a`, offset, 2 * MiB);
        expect(body.subarray(offset, offset + 2 * MiB).equals(await collect(data)), "the range read other bytes");
      },
    },
    {
      workflow: "object delete",
      layer: "o3ml",
      about: "removed from the namespace; stat then says NOT_FOUND",
      run: async () => {
        const { existed } = await client.delete(`${base}/a`);
        expect(existed, "delete says the key did not exist");
        try {
          await client.stat(`${base}/a`);
        } catch (err) {
          if (O3mlError.from(err).code === "NOT_FOUND") return;
          throw err;
        }
        throw new O3mlError("INTERNAL", "the key is still there after delete");
      },
    },
    {
      workflow: "multipart upload (o3ml BlobStore)",
      layer: "o3ml",
      about: "12 MiB in 5 MiB parts, 2 in parallel, read back by parallel ranged GETs where the probe allows",
      run: async () => {
        const store = createBlobStore(s.config, { multipartThreshold: 5 * MiB, partSize: 5 * MiB, queueSize: 2, probeCacheDir: false });
        try {
          const data = randomBytes(12 * MiB);
          await store.put(`${base}/mpu`, data);
          expect(data.equals(Buffer.from(await store.get(`${base}/mpu`))), "multipart object read back differs");
          const slice = await store.get(`${base}/mpu`, { range: { offset: 5 * MiB - 10, length: 20 } });
          expect(Buffer.from(slice).equals(data.subarray(5 * MiB - 10, 5 * MiB + 10)), "range across the part boundary differs");
          await store.delete(`${base}/mpu`);
          return (await store.capabilities()).rangeGet ? "ranged GET used" : "ranged GET not honoured: whole-object read sliced";
        } finally {
          store.close();
        }
      },
    },
  ];
}
