import { describe, expect, it } from "vitest";
import { classifyFailure, failureError } from "./upstream-failure.ts";

const live = new AbortController().signal;

function coded(code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(code), { code, ...extra });
}

describe("classifyFailure", () => {
  it("calls every failure an abort once the caller's signal fired", () => {
    const controller = new AbortController();
    controller.abort();
    expect(classifyFailure(coded("ECONNRESET"), controller.signal)).toBe("aborted");
  });

  it.each(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIMEDOUT"])("%s is a timeout", (code) => {
    expect(classifyFailure(coded(code), live)).toBe("timeout");
  });

  it.each(["ECONNREFUSED", "ECONNRESET", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "HPE_INVALID_CONSTANT", "ERR_TLS_CERT_ALTNAME_INVALID", "DEPTH_ZERO_SELF_SIGNED_CERT"])(
    "%s is a connection failure",
    (code) => {
      expect(classifyFailure(coded(code), live)).toBe("connection");
    },
  );

  it("reads a system error by its syscall, and looks into causes", () => {
    expect(classifyFailure(coded("EPROTO", { syscall: "read" }), live)).toBe("connection");
    expect(classifyFailure(new TypeError("fetch failed", { cause: coded("ECONNREFUSED") }), live)).toBe("connection");
  });

  it("does not claim errors that are not the upstream's (bugs, the caller's own body)", () => {
    expect(classifyFailure(new TypeError("x is undefined"), live)).toBeUndefined();
    expect(classifyFailure(coded("TG_ERR_BODY_TOO_LARGE"), live)).toBeUndefined();
    expect(classifyFailure(coded("UND_ERR_INVALID_ARG"), live)).toBeUndefined();
    expect(classifyFailure("a string", live)).toBeUndefined();
  });
});

describe("failureError", () => {
  it("is a 504 for a timeout and a 502 otherwise, naming the provider and the attempts", () => {
    const timeout = failureError("timeout", "primary", 3, undefined);
    expect([timeout.code, timeout.status, timeout.reason]).toEqual(["TG_ERR_UPSTREAM_TIMEOUT", 504, "upstream.timeout"]);
    expect(timeout.message).toContain("primary, 3 attempts");
    const refused = failureError("connection", "backup", 1, undefined);
    expect([refused.code, refused.status, refused.reason]).toEqual(["TG_ERR_UPSTREAM_FAILED", 502, "upstream.connection"]);
    expect(refused.message).toContain("backup, 1 attempt)");
    expect(failureError("aborted", "primary", 1, undefined).reason).toBe("upstream.aborted");
  });
});
