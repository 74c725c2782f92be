import { createHash, timingSafeEqual } from "node:crypto";
import { BlockList, isIP } from "node:net";
import type { Metadata } from "@grpc/grpc-js";
import { O3mlError } from "@o3ml/errors";

/**
 * Bearer-token check. Both sides are hashed first so that the comparison is
 * constant-time whatever the lengths, and the token never appears in errors.
 */
export function makeAuthCheck(token: string | undefined): (md: Metadata) => void {
  if (!token) return () => {};
  const want = createHash("sha256").update(token).digest();
  return (md) => {
    const header = md.get("authorization")[0];
    const got = typeof header === "string" && header.startsWith("Bearer ") ? header.slice(7) : undefined;
    if (got === undefined) {
      throw new O3mlError("UNAUTHENTICATED", "this o3ml service requires a bearer token; set O3ML_TOKEN to the service's token");
    }
    if (!timingSafeEqual(createHash("sha256").update(got).digest(), want)) {
      throw new O3mlError("UNAUTHENTICATED", "the bearer token was refused; check O3ML_TOKEN");
    }
  };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
// Also matches IPv4-mapped IPv6 forms of 127.0.0.0/8 (::ffff:127.0.0.1): BlockList checks those against the IPv4 rules.
LOOPBACK.addAddress("::1", "ipv6");

/**
 * True for listen addresses only this host can reach: an IP address in
 * 127.0.0.0/8 or ::1 (also written as [::1], 0:0:0:0:0:0:0:1 or
 * ::ffff:127.x.y.z), or the name `localhost`, which is reserved for loopback.
 * It is decided from the parsed address, never from its text: a host name
 * such as "127.evil.example" may resolve anywhere. Any other host name is not
 * loopback, even one that resolves to 127.0.0.1 today: the server resolves it
 * again when it binds, and the answer may differ, so only a literal address
 * can be trusted. Forms that are not canonical (127.1, 0x7f.0.0.1) count as
 * names and are refused too.
 */
export function isLoopback(host: string): boolean {
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (h === "localhost") return true;
  const family = isIP(h);
  if (family === 0) return false;
  try {
    return LOOPBACK.check(h, family === 6 ? "ipv6" : "ipv4");
  } catch {
    return false;
  }
}
