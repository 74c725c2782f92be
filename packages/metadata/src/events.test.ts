import { isO3mlError, O3mlError } from "@o3ml/errors";
import fc from "fast-check";
import { Unpackr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { newEventId, decodeEvent, encodeEvent, newEvent, EVENT_FORMAT_VERSION, type MetadataEvent, isPrintable } from "@o3ml/repository";
import { sampleHistory } from "./fixtures.test-support.js";

// "__proto__" is refused as a key (MessagePack decoders drop it), so valid events never hold it.
const text = fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).filter((s) => isPrintable(s) && s !== "__proto__");
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const count = fc.maxSafeNat();
// MessagePack has one zero; -0 comes back as 0.
const number = fc.double().map((x) => (Object.is(x, -0) ? 0 : x));
const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v), (k, x: unknown) => (k === "__proto__" ? undefined : x)) as unknown);
const id = fc.integer({ min: 0, max: 2 ** 44 }).map((t) => newEventId(t));
const at = fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true });

const anyEvent: fc.Arbitrary<MetadataEvent> = fc.oneof(
  fc.record({ runId: text, name: text, hyperparameters: fc.dictionary(text, json), codeCommit: maybe(text), codeDirty: maybe(fc.boolean()), packages: fc.dictionary(text, text), host: maybe(text) }).map((d) => ({ type: "run.created" as const, d })),
  fc
    .record({ dataset: text, version: text, manifestCid: text, parent: maybe(fc.tuple(text, text)), samples: count, bytes: count })
    .map(({ parent, ...d }) => ({ type: "dataset.version.created" as const, d: { ...d, parentVersion: parent?.[0] ?? null, parentManifestCid: parent?.[1] ?? null } })),
  fc
    .record({ checkpointId: text, runId: text, step: count, epoch: count, metrics: fc.dictionary(text, number), manifestCid: text, parentCheckpointId: maybe(text), datasetVersionCid: maybe(text), sizes: fc.tuple(count, count, count) })
    .map(({ sizes, ...d }) => {
      const [uploaded, deduplicated] = [sizes[0] % 2 ** 50, sizes[1] % 2 ** 50];
      return { type: "checkpoint.committed" as const, d: { ...d, bytesUploaded: uploaded, bytesDeduplicated: deduplicated, bytesTotal: uploaded + deduplicated + (sizes[2] % 2 ** 50) } };
    }),
  fc.record({ checkpointId: text, networkRootCid: maybe(text) }).map((d) => ({ type: "checkpoint.durable" as const, d })),
  fc.record({ checkpointId: text }).map((d) => ({ type: "checkpoint.deleted" as const, d })),
  fc.record({ artifactId: text, runId: text, name: text, cid: text, bytes: count, mediaType: maybe(text), checkpointId: maybe(text) }).map((d) => ({ type: "artifact.created" as const, d })),
  fc
    .record({ from: fc.record({ kind: fc.constantFrom("run" as const, "checkpoint" as const), id: text }), to: fc.record({ kind: fc.constantFrom("dataset-version" as const, "artifact" as const), id: text }), relation: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/) })
    .map((d) => ({ type: "lineage.linked" as const, d })),
).chain(({ type, d }) => fc.tuple(id, at).map(([eventId, when]) => newEvent(type, d as never, { id: eventId, at: when })));

describe("event codec", () => {
  it("refuses a __proto__ key anywhere in the data, since it cannot survive a round trip", () => {
    const hyperparameters = JSON.parse('{"lr": 0.1, "nested": {"__proto__": 1}}') as Record<string, unknown>;
    expect(() => newEvent("run.created", { runId: "r", name: "r", hyperparameters, packages: {} })).toThrow(/__proto__/);
  });

  it("decodes what it encodes, for every event type", () => {
    fc.assert(
      fc.property(anyEvent, (event) => {
        expect(decodeEvent(encodeEvent(event), "k")).toEqual(event);
      }),
      { numRuns: 300 },
    );
  });

  it("writes standard MessagePack maps with 64-bit integers, readable without msgpackr's extensions", () => {
    const event = sampleHistory().find((e) => e.type === "checkpoint.committed")!;
    const bytes = encodeEvent(event);
    const plain = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: "bigint" }).unpack(bytes) as { data: { bytesTotal: unknown } };
    expect(plain.data.bytesTotal).toBe(50_000_000_000n);
    expect(Buffer.from(bytes).includes(Buffer.from([0xd3, 0, 0, 0, 0x0b, 0xa4, 0x3b, 0x74, 0]))).toBe(true);
    expect(Object.keys(plain)).toEqual(["v", "type", "id", "at", "data"]);
  });

  it("turns any bytes into an event or INVALID_ARGUMENT naming the key, never anything else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeEvent(bytes, "o3ml/v1/log/somekey");
        } catch (err) {
          expect(isO3mlError(err, "INVALID_ARGUMENT")).toBe(true);
          expect((err as Error).message).toContain("o3ml/v1/log/somekey");
        }
      }),
      { numRuns: 500 },
    );
  });

  it("names the malformed field", () => {
    const event = sampleHistory().find((e) => e.type === "checkpoint.committed")!;
    const broken: [string, unknown][] = [
      ["data.step", { ...event, data: { ...event.data, step: -1 } }],
      ["data.metrics.loss", { ...event, data: { ...event.data, metrics: { loss: "low" } } }],
      ["data.runId", { ...event, data: { ...event.data, runId: "a\nb" } }],
      ["data.bytesUploaded", { ...event, data: { ...event.data, bytesUploaded: 10 ** 12 } }],
      ["type", { ...event, type: "checkpoint.exploded" }],
      ["id", { ...event, id: "not-sortable" }],
      ["at", { ...event, at: "yesterday" }],
      ["v", { ...event, v: 0 }],
    ];
    for (const [field, value] of broken) {
      const err = (() => {
        try {
          decodeEvent(encodeEvent(value as MetadataEvent), "o3ml/v1/log/x");
        } catch (e) {
          return e as O3mlError;
        }
      })();
      expect(err?.code, field).toBe("INVALID_ARGUMENT");
      expect(err?.message, field).toContain(field);
      expect(err?.message, field).toContain("o3ml/v1/log/x");
    }
  });

  it("refuses an event format newer than it reads (FAILED_PRECONDITION)", () => {
    const event = sampleHistory()[0]!;
    const err = (() => {
      try {
        decodeEvent(encodeEvent({ ...event, v: EVENT_FORMAT_VERSION + 1 } as never), "o3ml/v1/log/n");
      } catch (e) {
        return e as O3mlError;
      }
    })();
    expect(err?.code).toBe("FAILED_PRECONDITION");
    expect(err?.message).toContain("upgrade o3ml");
  });

  it("lets no writer build a malformed event", () => {
    const base = { checkpointId: "c", runId: "r", step: 1, epoch: 0, metrics: {}, manifestCid: "m", bytesTotal: 10, bytesUploaded: 5, bytesDeduplicated: 5 };
    expect(() => newEvent("checkpoint.committed", { ...base, bytesUploaded: 6 })).toThrow(O3mlError);
    expect(() => newEvent("checkpoint.committed", { ...base, step: 1.5 })).toThrow(/data\.step/);
    expect(() => newEvent("dataset.version.created", { dataset: "d", version: "v2", manifestCid: "m", parentVersion: "v1", samples: 1, bytes: 1 })).toThrow(/parentManifestCid/);
    expect(() => newEvent("run.created", { runId: "r", name: "x", hyperparameters: { f: () => 1 }, packages: {} })).toThrow(/hyperparameters\.f/);
    expect(() => newEvent("lineage.linked", { from: { kind: "run", id: "r" }, to: { kind: "run", id: "s" }, relation: "Has Spaces" })).toThrow(/relation/);
    expect(() => newEvent("checkpoint.deleted", { checkpointId: "c" }, { at: new Date(NaN) })).toThrow(/at must be/);
    expect(() => newEvent("checkpoint.deleted", { checkpointId: "c" }, { at: "soon" })).toThrow(/at must be/);
    const e = newEvent("checkpoint.durable", { checkpointId: "c" }, { at: "2025-01-01T01:00:00+01:00" });
    expect(e.data.networkRootCid).toBeNull();
  });
});
