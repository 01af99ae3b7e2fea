import { describe, expect, it } from "vitest";
import { TollgateError } from "../../errors/tollgate-error.ts";
import { errorBody } from "./error-formats.ts";

describe("errorBody", () => {
  const denied = new TollgateError("TG_ERR_POLICY_DENIED", "Denied by policy: no grant", { reasons: ["no grant"] });

  it("writes OpenAI's error object", () => {
    expect(errorBody("openai", new TollgateError("TG_ERR_UNKNOWN_MODEL", "no such model", { param: "model" }), "req-1")).toEqual({
      error: { message: "no such model", type: "not_found_error", param: "model", code: "TG_ERR_UNKNOWN_MODEL" },
    });
    expect(errorBody("openai", denied, "req-1")).toEqual({
      error: { message: "Denied by policy: no grant", type: "permission_error", param: null, code: "TG_ERR_POLICY_DENIED", reasons: ["no grant"] },
    });
  });

  it("writes Anthropic's error object, with its own error types", () => {
    expect(errorBody("anthropic", new TollgateError("TG_ERR_BODY_TOO_LARGE", "too big"), "req-2")).toEqual({
      type: "error",
      error: { type: "request_too_large", message: "too big", code: "TG_ERR_BODY_TOO_LARGE" },
      request_id: "req-2",
    });
    expect(errorBody("anthropic", new TollgateError("TG_ERR_UPSTREAM_TIMEOUT", "slow"), "r").error).toMatchObject({ type: "timeout_error" });
  });
});
