import type { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quickstartIdentities } from "../src/config/embedded.ts";
import { startTicketsMcpServer, type TicketsMcpServer } from "../src/demo/mcp/tickets-http-server.ts";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { stdioTicketsServer, testToolGrants, ticketsTarget, ticketsToken, withMcpServers } from "./harness/mcp-support.ts";
import { mirroredName, modernRequest, type ModernRequest } from "./harness/modern-mcp-client.ts";

type Json = Record<string, unknown>;

/**
 * MCP's 2026-07-28 revision through the gateway: stateless requests whose mirrored headers must agree
 * with the body (a mismatch is 400 with JSON-RPC -32020, and never reaches the server), no GET, no
 * sessions, server-to-client requests as InputRequiredResult (decided by the policy like sampling of
 * the earlier revisions), over HTTP and over stdio.
 */
describe("MCP 2026-07-28 through the gateway", () => {
  let h: Harness;
  let tickets: TicketsMcpServer;
  let support: Agent;
  let reviewer: Agent;
  const call = (agent: Agent, request: ModernRequest, server = "tickets") => modernRequest(agent, `${h.url}/mcp/${server}`, request);
  const resultOf = (answer: { response: Json | undefined }) => answer.response?.result as Json;
  const errorOf = (answer: { response: Json | undefined }) => answer.response?.error as { code: number; message: string; data: Json };

  beforeAll(async () => {
    tickets = await startTicketsMcpServer({ token: ticketsToken, testTools: true });
    h = await startHarness({
      grants: [
        ...testToolGrants,
        // The code-review agent may call draft_reply, but the server may not ask its model for anything.
        { name: "reviewer-drafts", agents: [quickstartIdentities["code-review"]], targets: [ticketsTarget], kind: "tool", names: ["draft_reply"], actions: ["list", "call"] },
      ],
      configure: (config) =>
        withMcpServers(config, {
          tickets: { target: ticketsTarget, url: tickets.url, auth: { kind: "bearer", token: ticketsToken } },
          "tickets-stdio": stdioTicketsServer(),
        }),
    });
    support = h.dispatcher("customer-support");
    reviewer = h.dispatcher("code-review");
  });
  afterAll(async () => {
    await h?.close();
    await tickets?.close();
  });

  it("discovers the server and lists only the tools the caller may call, as a private list", async () => {
    const discovered = await call(support, { method: "server/discover" });
    expect(resultOf(discovered).supportedVersions).toContain("2026-07-28");
    const listed = await call(support, { method: "tools/list" });
    expect(listed.status).toBe(200);
    const result = resultOf(listed);
    expect((result.tools as Json[]).map((t) => t.name)).not.toContain("delete_ticket");
    expect((result.tools as Json[]).map((t) => t.name)).toContain("search_tickets");
    // The server said "public"; a list filtered for one caller must not be shared by caches.
    expect(result.cacheScope).toBe("private");
    expect(result.resultType).toBe("complete");
  });

  it("calls an allowed tool and refuses a denied one by name", async () => {
    const found = await call(support, { method: "tools/call", params: { name: "get_ticket", arguments: { id: "T-1002" } } });
    expect(resultOf(found)).toMatchObject({ resultType: "complete", structuredContent: { id: "T-1002" } });
    const denied = await call(support, { method: "tools/call", params: { name: "delete_ticket", arguments: { id: "T-1002" } } });
    expect(denied.status).toBe(200);
    expect(errorOf(denied)).toMatchObject({ code: -32003, data: { code: "TG_ERR_POLICY_DENIED" } });
  });

  it("refuses headers that disagree with the body with 400 and -32020, before the server sees anything", async () => {
    const before = tickets.requests.length;
    const cases: Array<Record<string, string | undefined>> = [
      // The classic smuggling attempt: route on an allowed name, execute a denied one.
      { "mcp-name": "search_tickets" },
      { "mcp-method": "tools/list" },
      { "mcp-method": undefined },
      { "mcp-name": undefined },
      { "mcp-protocol-version": undefined },
    ];
    for (const headers of cases) {
      const answer = await call(support, { method: "tools/call", params: { name: "delete_ticket", arguments: { id: "T-1001" } }, headers });
      expect(answer.status, JSON.stringify(headers)).toBe(400);
      expect(errorOf(answer).code).toBe(-32020);
    }
    expect(tickets.requests.length).toBe(before);
    expect(tickets.store.get("T-1001")).toBeDefined();
  });

  it("decodes base64-encoded names before comparing them", async () => {
    const answer = await call(support, { method: "tools/call", params: { name: "météo", arguments: {} } });
    expect(answer.status).toBe(200);
    expect(errorOf(answer).message).toContain('call tool "météo"');
    expect(mirroredName("météo")).toMatch(/^=\?base64\?/);
  });

  it("refuses a protocol version it does not know with -32022 and the versions it does", async () => {
    const answer = await call(support, { method: "tools/list", headers: { "mcp-protocol-version": "2099-01-01" } });
    expect(answer.status).toBe(400);
    expect(errorOf(answer)).toMatchObject({ code: -32022, data: { requested: "2099-01-01", supported: expect.arrayContaining(["2026-07-28", "2025-11-25"]) } });
  });

  it("has no GET stream and no DELETE, and ignores session ids", async () => {
    const get = await call(support, { method: "tools/list", httpMethod: "GET" });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe("POST");
    const del = await call(support, { method: "tools/list", httpMethod: "DELETE" });
    expect(del.status).toBe(405);
    const withSession = await call(support, { method: "tools/list", headers: { "mcp-session-id": "not-a-session" } });
    expect(withSession.status).toBe(200);
  });

  it("streams progress before the result", async () => {
    const order: string[] = [];
    const answer = await call(support, {
      method: "tools/call",
      params: { name: "count_slowly", arguments: { steps: 2, hold: "modern-progress" }, _meta: { progressToken: "p-1" } },
      onMessage: (message) => {
        order.push(typeof message.method === "string" ? `${message.method}:${(message.params as Json).progress}` : "response");
        // The tool waits after its first progress until released: only a streamed progress releases it.
        if (message.method === "notifications/progress" && (message.params as Json).progress === 1) tickets.holds.release("modern-progress");
      },
    });
    expect(answer.contentType).toContain("text/event-stream");
    expect(order).toEqual(["notifications/progress:1", "notifications/progress:2", "response"]);
    expect(resultOf(answer).content).toEqual([{ type: "text", text: "counted to 2" }]);
  });

  it("passes an input request the policy allows, and the retry that answers it", async () => {
    const first = await call(support, { method: "tools/call", params: { name: "draft_reply", arguments: { id: "T-1005" } }, capabilities: { sampling: {} } });
    const asked = resultOf(first);
    expect(asked.resultType).toBe("input_required");
    const [key, request] = Object.entries(asked.inputRequests as Json)[0] as [string, Json];
    expect(request.method).toBe("sampling/createMessage");
    const retry = await call(support, {
      method: "tools/call",
      params: {
        name: "draft_reply",
        arguments: { id: "T-1005" },
        inputResponses: { [key]: { role: "assistant", model: "agent-model", content: { type: "text", text: "Sorry about that!" } } },
      },
      capabilities: { sampling: {} },
    });
    expect(resultOf(retry)).toMatchObject({ resultType: "complete", content: [{ type: "text", text: "Draft for T-1005: Sorry about that!" }] });
  });

  it("refuses an input request the policy does not allow, with its reasons", async () => {
    const answer = await call(reviewer, { method: "tools/call", params: { name: "draft_reply", arguments: { id: "T-1005" } }, capabilities: { sampling: {} } });
    expect(answer.status).toBe(200);
    const error = errorOf(answer);
    expect(error.code).toBe(-32003);
    expect(error.message).toContain("the server asked the agent for sampling/createMessage");
    expect(error.data.reasons).toEqual([`no grant allows ${quickstartIdentities["code-review"]} to sampling tool "draft_reply" on ${ticketsTarget}`]);
    const line = await h.logLine((l) => l.caller === quickstartIdentities["code-review"] && (l.resource as Json | undefined)?.name === "draft_reply");
    expect(line).toMatchObject({ decision: "allow", outcome: "denied", error: { reason: "mcp.input_request_denied" } });
  });

  it("bridges a stdio server for this revision too, progress included", async () => {
    const listed = await call(support, { method: "tools/list" }, "tickets-stdio");
    expect((resultOf(listed).tools as Json[]).map((t) => t.name)).not.toContain("delete_ticket");
    const progress: unknown[] = [];
    const searched = await call(
      support,
      { method: "tools/call", params: { name: "search_tickets", arguments: { query: "parcel" }, _meta: { progressToken: 7 } }, onMessage: (m) => m.method && progress.push((m.params as Json).progressToken) },
      "tickets-stdio",
    );
    expect(progress).toEqual([7, 7]);
    expect(resultOf(searched).structuredContent).toMatchObject({ tickets: [{ id: "T-1001" }, { id: "T-1005" }] });
    const denied = await call(support, { method: "tools/call", params: { name: "delete_ticket", arguments: { id: "T-1001" } } }, "tickets-stdio");
    expect(errorOf(denied).code).toBe(-32003);
  });

  it("logged no internal error along the way", () => {
    expect(h.logs.filter((line) => line.msg === "internal error" || line.level === "error")).toEqual([]);
  });
});
