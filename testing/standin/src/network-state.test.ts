import { createHash } from "node:crypto";
import { CID } from "multiformats/cid";
import { describe, expect, it } from "vitest";
import { fakeRootCid } from "./fake-root-cid.js";
import { NetworkState } from "./network-state.js";

describe("NetworkState", () => {
  it("is pending for the delay after a write, then done with a root CID", () => {
    const ns = new NetworkState(300);
    ns.recordWrite("bkt", "k", 1000);
    expect(ns.headers("bkt", "k", '"e"', 1299)).toEqual({ "Network-State": "pending" });
    expect(ns.headers("bkt", "k", '"e"', 1300)).toEqual({ "Network-State": "done", "Network-Root-Cid": fakeRootCid("bkt", "k", '"e"') });
  });

  it("treats objects it never saw written as done, and restarts the delay on overwrite", () => {
    const ns = new NetworkState(300);
    expect(ns.headers("bkt", "other", '"e"', 0)["Network-State"]).toBe("done");
    ns.recordWrite("bkt", "k", 1000);
    ns.recordWrite("bkt", "k", 1200);
    expect(ns.headers("bkt", "k", '"e"', 1400)["Network-State"]).toBe("pending");
  });
});

describe("fakeRootCid", () => {
  it("is a well-formed base32 CIDv1 (dag-pb, sha2-256), stable per object version", () => {
    const cid = fakeRootCid("bkt", "k", '"abc"');
    expect(cid).toMatch(/^bafybei[a-z2-7]{52}$/);
    // The string the stand-in has always reported for this object version.
    expect(cid).toBe("bafybeibnvsl7oy6hkrfcl6rbdvweavlnt3uzrekoalpb2wgatqrccm7i4a");
    const parsed = CID.parse(cid);
    expect([parsed.version, parsed.code, parsed.multihash.code]).toEqual([1, 0x70, 0x12]);
    expect(Buffer.from(parsed.multihash.digest)).toEqual(createHash("sha256").update('bkt\0k\0"abc"').digest());
    expect(fakeRootCid("bkt", "k", '"abc"')).toBe(cid);
    expect(fakeRootCid("bkt", "k", '"abd"')).not.toBe(cid);
  });
});
