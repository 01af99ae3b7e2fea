import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTicketsMcpServer, type TicketsMcpServer } from "../src/demo/mcp/tickets-http-server.ts";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { connectMcp, type ConnectedClient, ticketsTarget, ticketsToken, withMcpServers } from "./harness/mcp-support.ts";
import { createScratchDatabase, type ScratchDatabase } from "./harness/scratch-database.ts";

type Row = Record<string, unknown>;

/**
 * Every MCP request gets an audit row in PostgreSQL (server, method, tool, decision, reasons, latency,
 * outcome), and the tool's arguments are not in it.
 */
describe("the audit trail of the MCP path", () => {
  let h: Harness;
  let tickets: TicketsMcpServer;
  let database: ScratchDatabase;
  let pool: pg.Pool;
  let support: ConnectedClient;

  beforeAll(async () => {
    database = await createScratchDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    tickets = await startTicketsMcpServer({ token: ticketsToken });
    h = await startHarness({
      audit: { database: database.url },
      configure: (config) => withMcpServers(config, { tickets: { target: ticketsTarget, url: tickets.url, auth: { kind: "bearer", token: ticketsToken } } }),
    });
    support = await connectMcp(h, "customer-support");
  });
  afterAll(async () => {
    await support?.close();
    await h?.close();
    await tickets?.close();
    await pool?.end();
    await database?.drop();
  });

  async function rowsFor(tool: string): Promise<Row[]> {
    await h.logLine((line) => (line.resource as Row | undefined)?.name === tool);
    await h.gateway.audit?.writer.flushAll();
    return (await pool.query<Row>("SELECT * FROM audit_events WHERE protocol = 'mcp' AND resource_name = $1", [tool])).rows;
  }

  it("records an allowed tool call, without its arguments", async () => {
    await support.client.callTool({ name: "get_ticket", arguments: { id: "T-1003-private-argument" } });
    const rows = await rowsFor("get_ticket");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      protocol: "mcp",
      method: "POST",
      path: "/mcp/tickets",
      caller: "spiffe://ai.company.org/agent/customer-support/v2",
      target: ticketsTarget,
      resource_kind: "tool",
      resource_name: "get_ticket",
      resource_action: "call",
      decision: "allow",
      reasons: ["allowed by grant customer-support-tickets"],
      provider: "tickets",
      status: 200,
      outcome: "ok",
    });
    expect(rows[0]?.detail).toMatchObject({ server: "tickets", method: "tools/call" });
    expect(Number(rows[0]?.latency_us)).toBeGreaterThan(0);
    expect(JSON.stringify(rows[0])).not.toContain("T-1003-private-argument");
  });

  it("records a denied tool call with the policy's reasons", async () => {
    await support.client.callTool({ name: "delete_ticket", arguments: { id: "T-1001" } }).catch(() => undefined);
    const rows = await rowsFor("delete_ticket");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      decision: "deny",
      outcome: "denied",
      error_code: "TG_ERR_POLICY_DENIED",
      reasons: [`no grant allows spiffe://ai.company.org/agent/customer-support/v2 to call tool "delete_ticket" on ${ticketsTarget}`],
    });
  });
});
