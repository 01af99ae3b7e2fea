import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { type Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTicketsMcpServer, type TicketsMcpServer } from "../src/demo/mcp/tickets-http-server.ts";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { connectMcp, testToolGrants, ticketsTarget, ticketsToken, withMcpServers } from "./harness/mcp-support.ts";
import { refusingOrigin } from "./harness/tcp-relay.ts";

type Json = Record<string, unknown>;

/**
 * What an agent can send that is not a good MCP message, and what an MCP server can do wrong: each is
 * a JSON-RPC error with the right HTTP status, recorded, never forwarded when it should not be, and
 * never a crash or a hang.
 */
describe("MCP bad input and failing servers", () => {
  let h: Harness;
  let tickets: TicketsMcpServer;
  let support: Agent;

  const post = async (body: string | Buffer, headers: Record<string, string> = {}, path = "/mcp/tickets", agent: Agent = support) => {
    const response = await request(`${h.url}${path}`, {
      dispatcher: agent,
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
      body,
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, json: (text === "" ? {} : JSON.parse(text)) as Json };
  };
  const errorOf = (json: Json) => json.error as { code: number; message: string; data: Json };
  const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });

  beforeAll(async () => {
    tickets = await startTicketsMcpServer({ token: ticketsToken, testTools: true });
    const unreachable = await refusingOrigin();
    h = await startHarness({
      grants: testToolGrants,
      configure: (config) =>
        withMcpServers(
          config,
          {
            tickets: { target: ticketsTarget, url: tickets.url, auth: { kind: "bearer", token: ticketsToken } },
            "tickets-down": { target: ticketsTarget, url: `${unreachable}/mcp` },
            "tickets-wrong-key": { target: ticketsTarget, url: tickets.url, auth: { kind: "bearer", token: "not-the-token" } },
          },
          { body_limit: "64KiB" },
        ),
    });
    support = h.dispatcher("customer-support");
  });
  afterAll(async () => {
    await h?.close();
    await tickets?.close();
  });

  it("refuses JSON-RPC batches as the specification says, without forwarding any part", async () => {
    const before = tickets.requests.length;
    const answer = await post(JSON.stringify([JSON.parse(initialize), { jsonrpc: "2.0", id: 2, method: "tools/list" }]));
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32600, message: expect.stringContaining("batches are not accepted") } });
    expect(tickets.requests.length).toBe(before);
  });

  it("answers malformed bodies with JSON-RPC's codes", async () => {
    expect(await post("{not json")).toMatchObject({ status: 400, json: { error: { code: -32700 } } });
    expect(await post("")).toMatchObject({ status: 400 });
    expect(await post(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { arguments: {} } }))).toMatchObject({
      status: 400,
      json: { id: 3, error: { code: -32602, message: expect.stringContaining("params.name") } },
    });
    expect(await post(JSON.stringify({ jsonrpc: "1.0", id: 4, method: "ping" }))).toMatchObject({ status: 400, json: { error: { code: -32600 } } });
    expect(await post("x", { "content-type": "text/plain" })).toMatchObject({ status: 415, json: { error: { code: -32600 } } });
  });

  it("refuses a body over the limit with 413, without reading it all", async () => {
    const big = JSON.stringify({ jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "search_tickets", arguments: { query: "x".repeat(200_000) } } });
    const answer = await post(big);
    expect(answer.status).toBe(413);
    expect(errorOf(answer.json).data).toMatchObject({ code: "TG_ERR_BODY_TOO_LARGE" });
  });

  it("answers unknown servers, unknown methods, other HTTP methods and unreadable sessions", async () => {
    expect(await post(initialize, {}, "/mcp/nope")).toMatchObject({ status: 404, json: { error: { code: -32007, message: expect.stringContaining('"nope"') } } });
    expect(await post(JSON.stringify({ jsonrpc: "2.0", id: 6, method: "x/exfiltrate" }))).toMatchObject({ status: 404, json: { id: 6, error: { code: -32601 } } });
    const put = await request(`${h.url}/mcp/tickets`, { dispatcher: support, method: "PUT", body: "{}", headers: { "content-type": "application/json" } });
    expect(put.statusCode).toBe(405);
    expect(put.headers.allow).toBe("POST, GET, DELETE");
    await put.body.dump();
    expect(await post(JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/list" }), { "mcp-session-id": "tgs1.forged" })).toMatchObject({
      status: 404,
      json: { error: { code: -32001 } },
    });
    expect(await post(JSON.stringify({ jsonrpc: "2.0", id: 8, method: "tools/list" }), { "mcp-protocol-version": "1999-01-01" })).toMatchObject({
      status: 400,
      json: { error: { code: -32022 } },
    });
  });

  it("answers a caller without a client certificate in JSON-RPC, as an MCP request", async () => {
    const answer = await post(initialize, {}, "/mcp/tickets", h.dispatcher(undefined));
    expect(answer.status).toBe(401);
    expect(answer.json).toMatchObject({ jsonrpc: "2.0", error: { code: -32006, data: { code: "TG_ERR_UNAUTHENTICATED" } } });
    const line = await h.logLine((l) => l.status === 401 && l.path === "/mcp/tickets");
    expect(line).toMatchObject({ protocol: "mcp", outcome: "denied" });
  });

  it("answers 502 when the server cannot be reached, and 502 when it refuses the gateway's credentials", async () => {
    const down = await post(initialize, {}, "/mcp/tickets-down");
    expect(down).toMatchObject({ status: 502, json: { id: 1, error: { code: -32010, message: 'The MCP server "tickets-down" could not be reached.' } } });
    const wrongKey = await post(initialize, {}, "/mcp/tickets-wrong-key");
    expect(wrongKey.status).toBe(502);
    expect(errorOf(wrongKey.json).message).toContain("refused the gateway's credentials");
    // The server's own answer to a bad key is not passed on.
    expect(JSON.stringify(wrongKey.json)).not.toContain("Unauthorized");
  });

  it("answers the waiting request with a clear error when an HTTP server fails mid-stream", async () => {
    const client = await connectMcp(h, "customer-support");
    // The server crashes once the agent has seen the stream begin (its first progress notification).
    const error = await client.client
      .callTool({ name: "crash", arguments: { hold: "crash-1" } }, undefined, { onprogress: () => tickets.holds.release("crash-1") })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32010);
    expect((error as McpError).message).toContain('The MCP server "tickets" failed before answering this request.');
    const line = await h.logLine((l) => (l.resource as Json | undefined)?.name === "crash");
    expect(line).toMatchObject({ outcome: "upstream_error", error: { code: "TG_ERR_UPSTREAM_FAILED", reason: "upstream.stream_failed" } });
    await client.client.close();
  });

  it("answers 502 when an HTTP server fails before it answers at all", async () => {
    // A fresh server: the one above is gone.
    const fresh = await startTicketsMcpServer({ token: ticketsToken, testTools: true });
    const h2 = await startHarness({
      grants: testToolGrants,
      configure: (config) => withMcpServers(config, { tickets: { target: ticketsTarget, url: fresh.url, auth: { kind: "bearer", token: ticketsToken } } }),
    });
    try {
      const client = await connectMcp(h2, "customer-support");
      const error = await client.client.callTool({ name: "crash", arguments: {} }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 502, message: expect.stringContaining("-32010") });
      await client.client.close();
    } finally {
      await h2.close();
      await fresh.close();
    }
  });

  it("logged no internal error along the way", () => {
    expect(h.logs.filter((line) => line.msg === "internal error" || line.level === "error")).toEqual([]);
  });
});
