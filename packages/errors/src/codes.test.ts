import { describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { o3ml } from "@o3ml/proto";
import { ERROR_CODES, GRPC_STATUS, codeFromGrpcStatus, O3mlError } from "./index.js";

describe("error table", () => {
  it("covers exactly the codes of errors.proto", () => {
    const fromProto = Object.keys(o3ml.v1.ErrorCode).filter((k) => k !== "ERROR_CODE_UNSPECIFIED").sort();
    expect([...ERROR_CODES].sort()).toEqual(fromProto);
  });

  it("maps every code to a distinct gRPC status that maps back", () => {
    const statuses = ERROR_CODES.map((c) => GRPC_STATUS[c]);
    expect(new Set(statuses).size).toBe(statuses.length);
    for (const c of ERROR_CODES) expect(codeFromGrpcStatus(GRPC_STATUS[c])).toBe(c);
    expect(GRPC_STATUS.INTEGRITY).toBe(status.DATA_LOSS);
  });

  it("normalises connection failures as UNAVAILABLE and unknowns as INTERNAL", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    expect(O3mlError.from(refused, "reaching http://127.0.0.1:1").code).toBe("UNAVAILABLE");
    expect(O3mlError.from(refused, "reaching http://127.0.0.1:1").message).toContain("127.0.0.1:1");
    expect(O3mlError.from("boom").code).toBe("INTERNAL");
  });
});
