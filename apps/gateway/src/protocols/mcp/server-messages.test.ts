import { describe, expect, it } from "vitest";
import type { McpItemKind } from "./classify.ts";
import type { ItemDecider } from "./mcp-authorization.ts";
import { inspectServerMessage, type InspectionContext } from "./server-messages.ts";

/** A policy in miniature: allows exactly the (kind, action, name) triples it is given. */
function decider(allowed: ReadonlyArray<[McpItemKind, string, string]>): ItemDecider {
  return (kind, name, action) => {
    const allow = allowed.some(([k, a, n]) => k === kind && a === action && n === name);
    return { allow, reasons: allow ? ["allowed"] : [`no grant allows ${action} ${kind} "${name}"`], obligations: {} };
  };
}

const context = (allowed: ReadonlyArray<[McpItemKind, string, string]>, tool?: string): InspectionContext => ({ decide: decider(allowed), tool, requestId: "req-1" });

describe("inspectServerMessage", () => {
  it("passes tool results untouched, without parsing them", () => {
    const result = JSON.stringify({ jsonrpc: "2.0", id: 3, result: { content: [{ type: "text", text: 'it said "tools" and {"method": 1}' }] } });
    expect(inspectServerMessage(result, context([]))).toEqual({ kind: "pass" });
  });

  it("filters every list to the items the caller may use, and makes a public cache scope private", () => {
    const page = {
      jsonrpc: "2.0",
      id: 4,
      result: {
        tools: [{ name: "search" }, { name: "delete" }, { title: "nameless" }, "junk"],
        nextCursor: "page-2",
        cacheScope: "public",
        ttlMs: 60000,
      },
    };
    const verdict = inspectServerMessage(JSON.stringify(page), context([["tool", "call", "search"]]));
    expect(verdict.kind).toBe("replace");
    const replaced = JSON.parse((verdict as { text: string }).text) as { result: Record<string, unknown> };
    expect(replaced.result).toEqual({ tools: [{ name: "search" }], nextCursor: "page-2", cacheScope: "private", ttlMs: 60000 });

    const resources = { jsonrpc: "2.0", id: 5, result: { resources: [{ uri: "a://1" }, { uri: "a://2" }], resourceTemplates: [{ uriTemplate: "a://{x}" }] } };
    const filtered = inspectServerMessage(JSON.stringify(resources), context([["resource", "read", "a://2"]]));
    expect(JSON.parse((filtered as { text: string }).text).result).toEqual({ resources: [{ uri: "a://2" }], resourceTemplates: [] });
  });

  it("refuses a sampling request the policy does not allow, and answers the server itself", () => {
    const request = JSON.stringify({ jsonrpc: "2.0", id: 9, method: "sampling/createMessage", params: { messages: [] } });
    expect(inspectServerMessage(request, context([["tool", "sampling", "draft"]], "draft"))).toEqual({ kind: "pass" });
    const verdict = inspectServerMessage(request, context([], "draft"));
    expect(verdict).toMatchObject({ kind: "drop", reasons: ['no grant allows sampling tool "draft"'], answer: { jsonrpc: "2.0", id: 9, error: { code: -32003 } } });
    // Unknown requests of the server's are never forwarded; ping is.
    expect(inspectServerMessage(JSON.stringify({ jsonrpc: "2.0", id: 10, method: "x/other" }), context([]))).toMatchObject({ kind: "drop", answer: { error: { code: -32601 } } });
    expect(inspectServerMessage(JSON.stringify({ jsonrpc: "2.0", id: 11, method: "ping" }), context([]))).toEqual({ kind: "pass" });
  });

  it("withholds updates of resources the caller may not read", () => {
    const update = (uri: string) => JSON.stringify({ jsonrpc: "2.0", method: "notifications/resources/updated", params: { uri } });
    expect(inspectServerMessage(update("a://mine"), context([["resource", "read", "a://mine"]]))).toEqual({ kind: "pass" });
    expect(inspectServerMessage(update("a://secret"), context([["resource", "read", "a://mine"]]))).toMatchObject({ kind: "drop", answer: undefined });
    expect(inspectServerMessage(JSON.stringify({ jsonrpc: "2.0", method: "notifications/progress", params: { progress: 1 } }), context([]))).toEqual({ kind: "pass" });
  });

  it("turns a 2026-07-28 input request the policy refuses into an error for the agent", () => {
    const asking = JSON.stringify({
      jsonrpc: "2.0",
      id: 12,
      result: { resultType: "input_required", inputRequests: { "input-1": { method: "sampling/createMessage", params: {} } } },
    });
    expect(inspectServerMessage(asking, context([["tool", "sampling", "draft"]], "draft"))).toEqual({ kind: "pass" });
    const verdict = inspectServerMessage(asking, context([], "draft"));
    expect(verdict.kind).toBe("refuse");
    expect(JSON.parse((verdict as { text: string }).text)).toMatchObject({ id: 12, error: { code: -32003, data: { reasons: ['no grant allows sampling tool "draft"'], request_id: "req-1" } } });
  });
});
