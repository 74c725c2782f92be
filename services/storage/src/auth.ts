import { createHash, timingSafeEqual } from "node:crypto";
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

/** True for addresses only this host can reach. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\./.test(h);
}
