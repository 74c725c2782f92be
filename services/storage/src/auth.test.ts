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
});

describe("loopback addresses, decided from the parsed IP address", () => {
  it.each([
    "127.0.0.1",
    "127.1.2.3",
    "127.0.0.0",
    "127.255.255.255",
    "localhost",
    "::1",
    "[::1]",
    "0:0:0:0:0:0:0:1",
    "[0000:0000:0000:0000:0000:0000:0000:0001]",
    "::ffff:127.0.0.1",
    "[::ffff:127.0.0.1]",
    "::ffff:7f00:1",
    "0:0:0:0:0:ffff:127.1.2.3",
  ])("%s is loopback", (host) => {
    expect(isLoopback(host)).toBe(true);
  });

  it.each([
    // Host names that merely start like a loopback address: they resolve wherever their owner says.
    "127.evil.example",
    "127.0.0.1.example.com",
    "127.0.0.1.nip.io",
    "127.0.0.1.",
    "127.0.0.1x",
    "127-0-0-1.example",
    // Names that resolve to loopback today are still names (the bind resolves them again).
    "localhost.",
    "localhost.example.com",
    "LOCALHOST",
    "ip6-localhost",
    // Non-canonical IPv4 spellings count as names, not addresses.
    "127.1",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "2130706433",
    "127.0.0.256",
    // Addresses outside 127.0.0.0/8 and ::1.
    "0.0.0.0",
    "128.0.0.1",
    "126.255.255.255",
    "10.0.0.1",
    "::",
    "[::]",
    "::2",
    "::127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:128.0.0.1",
    "fe80::1",
    "example.org",
    "",
    "[]",
    "[127.evil.example]",
  ])("%j is not loopback", (host) => {
    expect(isLoopback(host)).toBe(false);
  });
});
