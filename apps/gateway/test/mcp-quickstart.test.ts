import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { embeddedConfig } from "../src/config/embedded.ts";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { connectMcp } from "./harness/mcp-support.ts";

/**
 * The quickstart: the embedded defaults start the demo MCP server `tickets` at /mcp/tickets, and the
 * shipped policy lets customer-support search and read tickets but not delete them, and gives the
 * other demo agents no ticket tools at all.
 */
describe("the quickstart's demo MCP server under the shipped policy", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      configure: (config) => {
        config.mcp = { demo: true };
      },
    });
  });
  afterAll(() => h?.close());

  it("is part of the embedded defaults", () => {
    expect(embeddedConfig({}, "/tmp/anywhere").mcp).toEqual({ demo: true });
    expect(h.gateway.mcpDemo?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
  });

  it("lets customer-support search and get tickets, and not delete them", async () => {
    const support = await connectMcp(h, "customer-support");
    const { tools } = await support.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["draft_reply", "get_ticket", "search_tickets"]);
    const found = await support.client.callTool({ name: "search_tickets", arguments: { query: "refund" } });
    expect(found.structuredContent).toEqual({ tickets: [{ id: "T-1002", subject: "Refund for a damaged kettle", status: "pending" }] });
    await expect(support.client.callTool({ name: "get_ticket", arguments: { id: "T-1002" } })).resolves.toMatchObject({ structuredContent: { customer: "grace@example.com" } });
    await expect(support.client.callTool({ name: "delete_ticket", arguments: { id: "T-1002" } })).rejects.toMatchObject({ code: -32003 });
    expect(h.gateway.mcpDemo?.store.get("T-1002")).toBeDefined();
    // The demo's token is the gateway's alone: the server refuses a request without it.
    const direct = await fetch(h.gateway.mcpDemo?.url as string, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" });
    expect(direct.status).toBe(401);
    await support.close();
  });

  for (const agent of ["code-review", "training"] as const) {
    it(`gives ${agent} no ticket tools`, async () => {
      const error = await connectMcp(h, agent).catch((e: unknown) => e);
      expect(String(error)).toContain(`to list on spiffe://ai.company.org/mcp/tickets`);
    });
  }
});
