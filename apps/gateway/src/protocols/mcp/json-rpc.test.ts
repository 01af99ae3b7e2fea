import { describe, expect, it } from "vitest";
import { TollgateError } from "../../errors/tollgate-error.ts";
import { classifyMessage } from "./classify.ts";
import { jsonRpcCodeOf, jsonRpcErrorBody, jsonRpcErrorStatus } from "./json-rpc-errors.ts";
import { parseClientMessage } from "./json-rpc.ts";

const parse = (value: unknown) => parseClientMessage(Buffer.from(typeof value === "string" ? value : JSON.stringify(value)));
const reasonOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as TollgateError).reason;
  }
  return "no error";
};

describe("parseClientMessage", () => {
  it("tells requests, notifications and responses apart", () => {
    expect(parse({ jsonrpc: "2.0", id: 1, method: "tools/list" })).toMatchObject({ kind: "request", id: 1, method: "tools/list" });
    expect(parse({ jsonrpc: "2.0", method: "notifications/initialized" })).toMatchObject({ kind: "notification" });
    expect(parse({ jsonrpc: "2.0", id: "s1", result: {} })).toMatchObject({ kind: "response", id: "s1" });
  });

  it("refuses batches, bad JSON and malformed messages with JSON-RPC's reasons", () => {
    expect(reasonOf(() => parse([{ jsonrpc: "2.0", id: 1, method: "ping" }]))).toBe("jsonrpc.batch");
    expect(reasonOf(() => parse("{not json"))).toBe("jsonrpc.parse_error");
    expect(reasonOf(() => parse({ id: 1, method: "ping" }))).toBe("jsonrpc.invalid_request");
    expect(reasonOf(() => parse({ jsonrpc: "2.0", id: null, method: "ping" }))).toBe("jsonrpc.invalid_request");
    expect(reasonOf(() => parse({ jsonrpc: "2.0", id: 1.5, method: "ping" }))).toBe("jsonrpc.invalid_request");
    expect(reasonOf(() => parse({ jsonrpc: "2.0", id: 1, method: "tools/call", params: ["x"] }))).toBe("jsonrpc.invalid_params");
    expect(reasonOf(() => parse({ jsonrpc: "2.0", id: 1 }))).toBe("jsonrpc.invalid_request");
  });
});

describe("classifyMessage", () => {
  const classify = (method: string, params?: unknown) => classifyMessage("tickets", parse({ jsonrpc: "2.0", id: 1, method, params }));

  it("names what each request uses", () => {
    expect(classify("tools/call", { name: "search_tickets" })).toEqual({
      kind: "use",
      resource: { kind: "tool", server: "tickets", name: "search_tickets", action: "call", method: "tools/call" },
    });
    expect(classify("resources/read", { uri: "tickets://ticket/T-1" })).toMatchObject({ resource: { kind: "resource", action: "read" } });
    expect(classify("resources/unsubscribe", { uri: "u" })).toMatchObject({ resource: { kind: "resource", action: "subscribe" } });
    expect(classify("prompts/get", { name: "p" })).toMatchObject({ resource: { kind: "prompt", action: "get" } });
    expect(classify("completion/complete", { ref: { type: "ref/resource", uri: "tickets://ticket/{id}" }, argument: { name: "id", value: "" } })).toMatchObject({
      resource: { kind: "resource", name: "tickets://ticket/{id}", action: "complete" },
    });
  });

  it("treats the plumbing and the lists as server access, and knows subscriptions/listen's URIs", () => {
    expect(classify("initialize", {})).toMatchObject({ kind: "connect", preferred: "tool" });
    expect(classify("prompts/list")).toMatchObject({ kind: "connect", preferred: "prompt" });
    expect(classify("subscriptions/listen", { notifications: { resourceSubscriptions: ["a", "b"] } })).toMatchObject({ kind: "connect", subscriptions: ["a", "b"] });
  });

  it("leaves unknown methods unclassified and refuses requests without the name they need", () => {
    expect(classify("x/custom")).toEqual({ kind: "unclassified", method: "x/custom" });
    expect(reasonOf(() => classify("tools/call", {}))).toBe("jsonrpc.invalid_params");
    expect(reasonOf(() => classify("completion/complete", { ref: { type: "ref/other" } }))).toBe("jsonrpc.invalid_params");
    expect(reasonOf(() => classify("subscriptions/listen", { notifications: { resourceSubscriptions: [1] } }))).toBe("jsonrpc.invalid_params");
  });
});

describe("JSON-RPC errors", () => {
  it("maps the gateway's errors to JSON-RPC codes and HTTP statuses", () => {
    const denied = new TollgateError("TG_ERR_POLICY_DENIED", "Denied by policy: no", { reasons: ["no"] });
    expect(jsonRpcCodeOf(denied)).toBe(-32003);
    // A refusal of an understood request is an ordinary JSON-RPC error response...
    expect(jsonRpcErrorStatus(denied, 5)).toBe(200);
    // ...a refused notification has no response to carry it.
    expect(jsonRpcErrorStatus(denied, null)).toBe(403);
    expect(jsonRpcErrorBody(denied, 5, "req-1")).toEqual({
      jsonrpc: "2.0",
      id: 5,
      error: { code: -32003, message: "Denied by policy: no", data: { code: "TG_ERR_POLICY_DENIED", request_id: "req-1", reasons: ["no"] } },
    });
    const mismatch = new TollgateError("TG_ERR_MCP_HEADER_MISMATCH", "Header mismatch: x");
    expect([jsonRpcCodeOf(mismatch), jsonRpcErrorStatus(mismatch, 1)]).toEqual([-32020, 400]);
    const parseError = new TollgateError("TG_ERR_BAD_REQUEST", "bad", { reason: "jsonrpc.parse_error" });
    expect(jsonRpcCodeOf(parseError)).toBe(-32700);
    const version = jsonRpcErrorBody(new TollgateError("TG_ERR_MCP_UNSUPPORTED_VERSION", "no"), 1, "r", "2099-01-01");
    expect((version.error as { data: unknown }).data).toMatchObject({ requested: "2099-01-01", supported: expect.arrayContaining(["2026-07-28", "2025-11-25"]) });
  });
});
