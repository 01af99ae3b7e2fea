import { McpError, ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { quickstartIdentities } from "../src/config/embedded.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTicketsMcpServer, type TicketsMcpServer } from "../src/demo/mcp/tickets-http-server.ts";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { agentToken, connectMcp, type ConnectedClient, testToolGrants, ticketsTarget, ticketsToken, withMcpServers } from "./harness/mcp-support.ts";

/**
 * The official SDK's client, with an agent's SVID, through the gateway to the SDK's McpServer over
 * Streamable HTTP (2025-11-25): per-tool authorization, list filtering, resources, prompts,
 * completions, progress, cancellation, sampling, and credentials that never cross the gateway.
 */
describe("MCP over Streamable HTTP through the gateway", () => {
  let h: Harness;
  let tickets: TicketsMcpServer;
  let support: ConnectedClient;

  beforeAll(async () => {
    tickets = await startTicketsMcpServer({ token: ticketsToken, testTools: true });
    h = await startHarness({
      grants: [
        ...testToolGrants,
        { name: "operator-deletes", agents: [quickstartIdentities.operator], targets: [ticketsTarget], kind: "tool", names: ["delete_ticket"], actions: ["list", "call"] },
      ],
      configure: (config) => withMcpServers(config, { tickets: { target: ticketsTarget, url: tickets.url, auth: { kind: "bearer", token: ticketsToken } } }),
    });
    support = await connectMcp(h, "customer-support", { sampling: true });
  });
  afterAll(async () => {
    await support?.close();
    await h?.close();
    await tickets?.close();
  });

  it("lists only the tools the caller may call", async () => {
    const { tools } = await support.client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(["cancelled_holds", "count_slowly", "crash", "draft_reply", "get_ticket", "release_hold", "search_tickets"]);
    expect(tools.map((tool) => tool.name)).not.toContain("delete_ticket");
  });

  it("calls an allowed tool and returns the server's result unaltered", async () => {
    const result = await support.client.callTool({ name: "search_tickets", arguments: { query: "parcel" } });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toEqual({
      tickets: [
        { id: "T-1001", subject: "Parcel not delivered", status: "open" },
        { id: "T-1005", subject: "Parcel delivered to a neighbour", status: "open" },
      ],
    });
  });

  it("traces the call to the server after OpenTelemetry's MCP conventions", async () => {
    const traced = h.spans.finishedSpan((span) => span.name === "tools/call get_ticket");
    await support.client.callTool({ name: "get_ticket", arguments: { id: "T-1001" } });
    const span = await traced;
    expect(span.attributes).toMatchObject({ "mcp.method.name": "tools/call", "gen_ai.tool.name": "get_ticket", "tollgate.upstream.provider": "tickets", "http.response.status_code": 200 });
    expect(span.parentSpanContext?.spanId).toBeDefined();
  });

  it("refuses a tool the policy denies, by name, with the policy's reasons, and never forwards it", async () => {
    const before = tickets.requests.length;
    const error = await support.client.callTool({ name: "delete_ticket", arguments: { id: "T-1001" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    const mcpError = error as McpError;
    expect(mcpError.code).toBe(-32003);
    expect(mcpError.message).toContain('call tool "delete_ticket"');
    expect((mcpError.data as { reasons: string[] }).reasons).toEqual([
      `no grant allows spiffe://ai.company.org/agent/customer-support/v2 to call tool "delete_ticket" on ${ticketsTarget}`,
    ]);
    expect(tickets.requests.slice(before).some((r) => JSON.stringify(r.body ?? {}).includes("delete_ticket"))).toBe(false);
    expect(tickets.store.get("T-1001")).toBeDefined();
  });

  it("lists only the resources, templates and prompts the caller may use", async () => {
    const { resources } = await support.client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(["tickets://ticket/T-1001", "tickets://ticket/T-1002", "tickets://ticket/T-1003", "tickets://ticket/T-1004", "tickets://ticket/T-1005"]);
    const { resourceTemplates } = await support.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(["tickets://ticket/{id}"]);
    const { prompts } = await support.client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(["summarize_ticket"]);
  });

  it("reads an allowed resource and refuses another by URI", async () => {
    const read = await support.client.readResource({ uri: "tickets://ticket/T-1002" });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ id: "T-1002", subject: "Refund for a damaged kettle" });
    const denied = await support.client.readResource({ uri: "tickets://internal/audit-log" }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(McpError);
    expect((denied as McpError).code).toBe(-32003);
    expect((denied as McpError).message).toContain('read resource "tickets://internal/audit-log"');
  });

  it("subscribes to an allowed resource only", async () => {
    await expect(support.client.subscribeResource({ uri: "tickets://ticket/T-1001" })).resolves.toBeDefined();
    await expect(support.client.subscribeResource({ uri: "tickets://internal/audit-log" })).rejects.toMatchObject({ code: -32003 });
  });

  it("delivers the server's own notifications on the GET stream", async () => {
    const updated = new Promise<string>((resolve) => {
      support.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => resolve(notification.params.uri));
    });
    await support.client.subscribeResource({ uri: "tickets://ticket/T-1005" });
    // The operator may delete tickets (a grant of this test); the subscriber is told on its GET stream.
    const operator = await connectMcp(h, "operator");
    await operator.client.callTool({ name: "delete_ticket", arguments: { id: "T-1005" } });
    expect(await updated).toBe("tickets://ticket/T-1005");
    await operator.close();
  });

  it("gets an allowed prompt, completes its argument, and refuses another prompt", async () => {
    const prompt = await support.client.getPrompt({ name: "summarize_ticket", arguments: { id: "T-1004" } });
    expect(JSON.stringify(prompt.messages)).toContain("VAT number");
    const completion = await support.client.complete({ ref: { type: "ref/prompt", name: "summarize_ticket" }, argument: { name: "id", value: "T-100" } });
    expect(completion.completion.values).toContain("T-1003");
    await expect(support.client.getPrompt({ name: "escalation_email", arguments: { id: "T-1004" } })).rejects.toMatchObject({ code: -32003 });
    await expect(support.client.complete({ ref: { type: "ref/prompt", name: "escalation_email" }, argument: { name: "id", value: "T" } })).rejects.toMatchObject({
      code: -32003,
    });
  });

  it("streams progress notifications while the tool runs, before its result", async () => {
    const seen: number[] = [];
    const result = await support.client.callTool({ name: "count_slowly", arguments: { steps: 3, hold: "progress-1" } }, undefined, {
      onprogress: (progress) => {
        seen.push(progress.progress);
        // The tool waits after its first step until released: were progress held back until the
        // end, this release would never come and the call would never finish.
        if (progress.progress === 1) tickets.holds.release("progress-1");
      },
    });
    expect(seen).toEqual([1, 2, 3]);
    expect(result.content).toEqual([{ type: "text", text: "counted to 3" }]);
  });

  it("passes a cancellation on to the server, which stops the tool", async () => {
    const controller = new AbortController();
    const cancelled = new Promise((resolve) => tickets.holds.once("cancelled", resolve));
    const held = new Promise((resolve) => tickets.holds.once("held", resolve));
    const call = support.client.callTool({ name: "count_slowly", arguments: { steps: 2, hold: "cancel-1" } }, undefined, { signal: controller.signal });
    await held;
    controller.abort("the user gave up");
    await expect(call).rejects.toThrow();
    expect(await cancelled).toBe("cancel-1");
  });

  it("lets the server ask the agent's model (sampling) where the policy allows it", async () => {
    const result = await support.client.callTool({ name: "draft_reply", arguments: { id: "T-1002" } });
    expect(result.content).toEqual([{ type: "text", text: "Draft for T-1002: We are on it!" }]);
    expect(JSON.stringify(support.samplingRequests.at(-1))).toContain("damaged kettle");
  });

  it("forwards with the gateway's credentials, never the agent's", async () => {
    const before = tickets.requests.length;
    await support.client.callTool({ name: "get_ticket", arguments: { id: "T-1003" } });
    const forwarded = tickets.requests.slice(before);
    expect(forwarded.length).toBeGreaterThan(0);
    for (const request of forwarded) {
      expect(request.headers.authorization).toBe(`Bearer ${ticketsToken}`);
      expect(JSON.stringify(request.headers)).not.toContain(agentToken);
      expect(request.headers.cookie).toBeUndefined();
      // The server sees its own session id, never the sealed one the agent holds.
      expect(request.headers["mcp-session-id"]).not.toBe(support.transport.sessionId);
    }
    expect(support.transport.sessionId).toMatch(/^tgs1\./);
  });

  it("records every MCP request as an exchange: protocol, target, resource, decision; no arguments", async () => {
    const from = h.logs.length;
    await support.client.callTool({ name: "get_ticket", arguments: { id: "T-1004-secret-argument" } }).catch(() => undefined);
    const line = await h.logLine((l) => l.protocol === "mcp" && (l.resource as { name?: string } | undefined)?.name === "get_ticket", from);
    expect(line).toMatchObject({
      protocol: "mcp",
      method: "POST",
      path: "/mcp/tickets",
      status: 200,
      outcome: "ok",
      caller: "spiffe://ai.company.org/agent/customer-support/v2",
      target: ticketsTarget,
      resource: { kind: "tool", server: "tickets", name: "get_ticket", action: "call", method: "tools/call" },
      decision: "allow",
      reasons: ["allowed by grant customer-support-tickets"],
      upstream: { provider: "tickets", attempts: 1 },
    });
    expect(JSON.stringify(line)).not.toContain("T-1004-secret-argument");

    const deniedFrom = h.logs.length;
    await support.client.callTool({ name: "delete_ticket", arguments: { id: "T-1" } }).catch(() => undefined);
    const denied = await h.logLine((l) => l.protocol === "mcp" && (l.resource as { name?: string } | undefined)?.name === "delete_ticket", deniedFrom);
    expect(denied).toMatchObject({ outcome: "denied", decision: "deny", error: { code: "TG_ERR_POLICY_DENIED", reason: "policy.denied" } });
  });

  it("refuses an agent without any grant on the server at initialize", async () => {
    const error = await connectMcp(h, "code-review").catch((e: unknown) => e);
    expect(String(error)).toContain("no grant allows spiffe://ai.company.org/agent/code-review/v1 to list on spiffe://ai.company.org/mcp/tickets");
  });

  it("ends a session with DELETE; its id is then unknown", async () => {
    const session = await connectMcp(h, "customer-support");
    const id = session.transport.sessionId;
    expect(id).toBeDefined();
    const sessionsBefore = tickets.sessions();
    await session.transport.terminateSession();
    expect(tickets.sessions()).toBe(sessionsBefore - 1);
    const stale = await connectMcp(h, "customer-support", { sessionId: id as string });
    await expect(stale.client.listTools()).rejects.toMatchObject({ code: 404 });
    await stale.close();
    await session.close();
  });

  it("does not let another agent use a session it did not open", async () => {
    const session = support.transport.sessionId as string;
    const other = await connectMcp(h, "code-review", { sessionId: session }).catch((e: unknown) => e);
    const client = other as ConnectedClient;
    await expect(client.client.listTools()).rejects.toMatchObject({ code: 404, message: expect.stringContaining("TG_ERR_MCP_SESSION_NOT_FOUND") });
    await client.close();
  });

  it("logged no internal error along the way", () => {
    expect(h.logs.filter((line) => line.msg === "internal error" || line.level === "error")).toEqual([]);
  });
});
