import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { eventIdTime, isEventId, newEventId } from "./event-id.js";

describe("event ids", () => {
  it("sort as their times do, and carry their time", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 47 }), fc.integer({ min: 1, max: 2 ** 40 }), (t, dt) => {
        const a = newEventId(t + dt);
        const later = newEventId(t + dt + 1);
        expect(isEventId(a)).toBe(true);
        expect(a < later).toBe(true);
        expect(eventIdTime(later)).toBeGreaterThanOrEqual(eventIdTime(a));
      }),
    );
    const t = Date.UTC(2030, 0, 1);
    expect(eventIdTime(newEventId(t))).toBeGreaterThanOrEqual(t);
  });

  it("strictly increase within one process, even within one millisecond or when the clock steps back", () => {
    const now = Date.UTC(2035, 5, 1);
    const ids = [...Array.from({ length: 1000 }, () => newEventId(now)), newEventId(now - 10_000), newEventId(now)];
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it("are recognised strictly", () => {
    expect(isEventId("01ARZ3NDEKTSV4RRFFQ69G5FAV")).toBe(true);
    for (const bad of ["", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAVX", "01arz3ndektsv4rrffq69g5fav", "01ARZ3NDEKTSV4RRFFQ69G5FAI", "81ARZ3NDEKTSV4RRFFQ69G5FAV", 42]) {
      expect(isEventId(bad), String(bad)).toBe(false);
    }
    expect(() => newEventId(-1)).toThrow(RangeError);
  });
});
