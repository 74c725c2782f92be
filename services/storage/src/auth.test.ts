import { describe, expect, it } from "vitest";
import { Metadata } from "@grpc/grpc-js";
import { isLoopback, makeAuthCheck } from "./auth.js";

const md = (v?: string) => {
  const m = new Metadata();
  if (v !== undefined) m.set("authorization", v);
  return m;
};

describe("bearer token check", () => {
  const check = makeAuthCheck("s3cret-token");
  it("accepts the right token and refuses wrong or missing ones without echoing them", () => {
    expect(() => check(md("Bearer s3cret-token"))).not.toThrow();
    expect(() => check(md("Bearer nope"))).toThrow(/refused/);
    expect(() => check(md())).toThrow(/requires a bearer token/);
    try {
      check(md("Bearer s3cret-tokenX"));
    } catch (e) {
      expect(String((e as Error).message)).not.toContain("s3cret");
    }
  });
  it("lets everything through when no token is configured", () => {
    expect(() => makeAuthCheck(undefined)(md())).not.toThrow();
  });
  it("knows loopback addresses", () => {
    expect(["127.0.0.1", "localhost", "[::1]", "127.1.2.3"].every(isLoopback)).toBe(true);
    expect(["0.0.0.0", "10.0.0.1", "example.org"].some(isLoopback)).toBe(false);
  });
});
