import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../src/config/schema.ts";
import { startTicketsMcpServer, type TicketsMcpServer } from "../src/demo/mcp/tickets-http-server.ts";
import { type RunningGateway, startGateway } from "../src/server/gateway.ts";
import { createLogger } from "../src/telemetry/logger.ts";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { connectMcp, stdioTicketsServer, testToolGrants, ticketsTarget, ticketsToken, withMcpServers } from "./harness/mcp-support.ts";
import { startTcpRelay, type TcpRelay } from "./harness/tcp-relay.ts";

/**
 * Sessions across gateway replicas: two gateways sharing the session key serve one session in turn
 * (the session id seals the server's own, so no store is shared); a stdio session is refused by the
 * replica that does not run its process; and a stream cut between the agent and the gateway is
 * resumed with Last-Event-ID, the events it missed replayed.
 */
describe("MCP sessions across replicas and broken connections", () => {
  const sessionKey = randomBytes(32).toString("base64");
  let tickets: TicketsMcpServer;
  let h: Harness;
  let replicaB: RunningGateway;
  let policyWorkB: string;
  let relay: TcpRelay;

  beforeAll(async () => {
    tickets = await startTicketsMcpServer({ token: ticketsToken, testTools: true });
    h = await startHarness({
      grants: testToolGrants,
      configure: (config) =>
        withMcpServers(
          config,
          {
            tickets: { target: ticketsTarget, url: tickets.url, auth: { kind: "bearer", token: ticketsToken } },
            "tickets-stdio": stdioTicketsServer(),
          },
          { session_keys: [sessionKey] },
        ),
    });
    // Replica B: the same configuration (and so the same key), its own listeners and policy build.
    policyWorkB = await mkdtemp(join(tmpdir(), "tollgate-replica-b-"));
    const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    replicaB = await startGateway({ config: configSchema.parse({ ...h.config }), logger: createLogger("warn", "replica-b", sink), policyWorkDir: policyWorkB });
    relay = await startTcpRelay();
    relay.target = h.url;
  });
  afterAll(async () => {
    await relay?.close();
    await replicaB?.close();
    await h?.close();
    await tickets?.close();
    await rm(policyWorkB, { recursive: true, force: true });
  });

  it("serves one session on two replicas in turn", async () => {
    const onA = await connectMcp(h, "customer-support");
    const session = onA.transport.sessionId as string;
    await onA.client.callTool({ name: "search_tickets", arguments: { query: "parcel" } });
    const sessionsAtServer = tickets.sessions();

    const onB = await connectMcp(h, "customer-support", { url: replicaB.dataPlaneUrl, sessionId: session });
    const { tools } = await onB.client.listTools();
    expect(tools.map((t) => t.name)).toContain("get_ticket");
    const result = await onB.client.callTool({ name: "get_ticket", arguments: { id: "T-1004" } });
    expect(result.structuredContent).toMatchObject({ id: "T-1004" });
    // Still the one session at the server: B reached the server's session through the sealed id.
    expect(tickets.sessions()).toBe(sessionsAtServer);
    expect(onB.transport.sessionId).toBe(session);

    // And back on A.
    await expect(onA.client.callTool({ name: "get_ticket", arguments: { id: "T-1001" } })).resolves.toMatchObject({ structuredContent: { id: "T-1001" } });
    await onB.client.close();
    await onA.close();
  });

  it("refuses a stdio session on the replica that does not run its process, saying why", async () => {
    const onA = await connectMcp(h, "customer-support", { server: "tickets-stdio" });
    const onB = await connectMcp(h, "customer-support", { server: "tickets-stdio", url: replicaB.dataPlaneUrl, sessionId: onA.transport.sessionId as string });
    await expect(onB.client.listTools()).rejects.toMatchObject({ code: 404, message: expect.stringContaining("runs on the replica that started the session") });
    await expect(onA.client.listTools()).resolves.toBeDefined();
    await onB.client.close();
    await onA.close();
  });

  it("resumes a stream cut between the agent and the gateway from the last event it received", async () => {
    const viaRelay = relay.url.replace("http://", "https://");
    const client = await connectMcp(h, "customer-support", { url: viaRelay });
    const seen: number[] = [];
    let firstProgress: () => void = () => {};
    const progressed = new Promise<void>((resolve) => {
      firstProgress = resolve;
    });
    const call = client.client.callTool({ name: "count_slowly", arguments: { steps: 3, hold: "resume-1" } }, undefined, {
      onprogress: (progress) => {
        seen.push(progress.progress);
        if (progress.progress === 1) firstProgress();
      },
    });
    await progressed;
    const getsBefore = tickets.requests.filter((r) => r.method === "GET" && r.headers["last-event-id"] !== undefined).length;
    // Cut every connection between the agent and the gateway; the tool is still waiting on its hold.
    for (const socket of relay.open) socket.destroy();
    // The client reconnects with Last-Event-ID; once the server has that GET, let the tool finish.
    for (;;) {
      if (tickets.requests.filter((r) => r.method === "GET" && r.headers["last-event-id"] !== undefined).length > getsBefore) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    tickets.holds.release("resume-1");
    const result = await call;
    expect(result.content).toEqual([{ type: "text", text: "counted to 3" }]);
    expect(seen).toEqual([1, 2, 3]);
    await client.close();
  });

  it("logged no internal error along the way", () => {
    expect(h.logs.filter((line) => line.msg === "internal error" || line.level === "error")).toEqual([]);
  });
});
