import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quickstartIdentities } from "../src/config/embedded.ts";
import { startTicketsMcpServer, type TicketsMcpServer } from "../src/demo/mcp/tickets-http-server.ts";
import { ensureQuickstartPki } from "../src/identity/quickstart-pki.ts";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { connectMcp, ticketsTarget, withMcpServers } from "./harness/mcp-support.ts";
import { type PagedMcpServer, startPagedMcpServer } from "./harness/paged-mcp-server.ts";

/** Every page of a list, walked by cursor as a client does; also the page sizes seen. */
async function allPages(client: Client, kind: "tools" | "prompts"): Promise<{ names: string[]; pages: number[] }> {
  const names: string[] = [];
  const pages: number[] = [];
  let cursor: string | undefined;
  do {
    const page = kind === "tools" ? await client.listTools(cursor === undefined ? {} : { cursor }) : await client.listPrompts(cursor === undefined ? {} : { cursor });
    const items = kind === "tools" ? (page as { tools: Array<{ name: string }> }).tools : (page as { prompts: Array<{ name: string }> }).prompts;
    names.push(...items.map((item) => item.name));
    pages.push(items.length);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return { names, pages };
}

/**
 * MCP servers of other kinds than the demo over HTTP: reached with the gateway's own SVID (mutual TLS,
 * the server verified as its target SPIFFE ID), paginated lists answered in JSON and in SSE, per-tool
 * call quotas.
 */
describe("MCP upstreams: SVID credentials, pagination, quotas", () => {
  let h: Harness;
  let viaSvid: TicketsMcpServer;
  let impostor: TicketsMcpServer;
  let pagedJson: PagedMcpServer;
  let pagedSse: PagedMcpServer;
  let now = Date.UTC(2026, 11, 4, 19, 0, 10);
  const tools = ["search_tickets", "delete_ticket", "get_ticket", "purge_everything", "draft_reply", "secret_tool"];
  const prompts = ["escalation_email", "summarize_ticket", "other_prompt"];

  beforeAll(async () => {
    pagedJson = await startPagedMcpServer({ tools, prompts, json: true });
    pagedSse = await startPagedMcpServer({ tools, prompts, json: false });
    h = await startHarness({
      clock: () => now,
      beforeStart: async ({ dataDir }) => {
        // The servers' own SVIDs, from the development CA the gateway will use too.
        const pki = await ensureQuickstartPki(join(dataDir, "pki"), {
          trustDomain: "ai.company.org",
          gateway: { spiffeId: "spiffe://ai.company.org/service/tollgate", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] },
          identities: { ...quickstartIdentities, "tickets-mcp": ticketsTarget, "impostor-mcp": "spiffe://ai.company.org/mcp/impostor" },
          ttl: 86_400_000,
        });
        const caPem = await readFile(pki.caFile, "utf8");
        const tlsOf = async (name: string) => {
          const files = pki.identities[name];
          if (files === undefined) throw new Error(`no SVID for ${name}`);
          return { certPem: await readFile(files.certificateFile, "utf8"), keyPem: await readFile(files.keyFile, "utf8"), caPem };
        };
        viaSvid = await startTicketsMcpServer({ tls: await tlsOf("tickets-mcp") });
        impostor = await startTicketsMcpServer({ tls: await tlsOf("impostor-mcp") });
      },
      configure: (config) =>
        withMcpServers(
          config,
          {
            tickets: { target: ticketsTarget, url: viaSvid.url, auth: { kind: "svid" } },
            "tickets-impostor": { target: ticketsTarget, url: impostor.url, auth: { kind: "svid" } },
            "paged-json": { target: ticketsTarget, url: pagedJson.url },
            "paged-sse": { target: ticketsTarget, url: pagedSse.url, quotas: [{ name: "searches", tools: ["search_*"], calls: 2, window: "minute" }] },
          },
        ),
    });
  });
  afterAll(async () => {
    await h?.close();
    await Promise.all([viaSvid?.close(), impostor?.close(), pagedJson?.close(), pagedSse?.close()]);
  });

  it("reaches a server with the gateway's SVID, and the server sees the gateway, not the agent", async () => {
    const client = await connectMcp(h, "customer-support");
    const result = await client.client.callTool({ name: "get_ticket", arguments: { id: "T-1001" } });
    expect(result.structuredContent).toMatchObject({ id: "T-1001" });
    expect(new Set(viaSvid.requests.map((r) => r.peer))).toEqual(new Set(["spiffe://ai.company.org/service/tollgate"]));
    expect(viaSvid.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
    await client.close();
  });

  it("refuses a server whose certificate names another SPIFFE ID than its target", async () => {
    const error = await connectMcp(h, "customer-support", { server: "tickets-impostor" }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 502, message: expect.stringContaining("its certificate does not name its target SPIFFE ID") });
    const line = await h.logLine((l) => l.path === "/mcp/tickets-impostor");
    expect(line).toMatchObject({ outcome: "upstream_error", error: { reason: "mcp.upstream_identity_mismatch" } });
    expect(impostor.requests).toHaveLength(0);
  });

  for (const server of ["paged-json", "paged-sse"]) {
    it(`filters every page of a paginated list (${server})`, async () => {
      const client = await connectMcp(h, "customer-support", { server });
      const listedTools = await allPages(client.client, "tools");
      expect(listedTools.names).toEqual(["search_tickets", "get_ticket", "draft_reply"]);
      // Pages keep the server's cursors: one allowed tool per page of two.
      expect(listedTools.pages).toEqual([1, 1, 1]);
      const listedPrompts = await allPages(client.client, "prompts");
      expect(listedPrompts.names).toEqual(["summarize_ticket"]);
      // And what no page showed is not callable by name either.
      for (const hidden of ["delete_ticket", "purge_everything", "secret_tool"]) {
        await expect(client.client.callTool({ name: hidden, arguments: {} })).rejects.toMatchObject({ code: -32003 });
      }
      await client.close();
    });
  }

  it("counts tool calls against a quota in the budget store, per agent and window", async () => {
    const client = await connectMcp(h, "customer-support", { server: "paged-sse" });
    await client.client.callTool({ name: "search_tickets", arguments: {} });
    await client.client.callTool({ name: "search_tickets", arguments: {} });
    // Other tools do not count.
    await client.client.callTool({ name: "get_ticket", arguments: {} });
    const refused = await client.client.callTool({ name: "search_tickets", arguments: {} }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: -32005, message: expect.stringContaining('Quota "searches" of MCP server "paged-sse" is used up: 2 calls per minute') });
    expect((refused as { data: { retry_after_seconds: number } }).data.retry_after_seconds).toBe(50);
    // The next minute, calls are allowed again.
    now += 60_000;
    await expect(client.client.callTool({ name: "search_tickets", arguments: {} })).resolves.toMatchObject({ content: [{ text: "called search_tickets" }] });
    await client.close();
  });

  it("logged no internal error along the way", () => {
    expect(h.logs.filter((line) => line.msg === "internal error" || line.level === "error")).toEqual([]);
  });
});
