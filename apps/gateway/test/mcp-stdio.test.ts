import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./harness/gateway-harness.ts";
import { connectMcp, type ConnectedClient, stdioTicketsServer, testToolGrants, withMcpServers } from "./harness/mcp-support.ts";

/** Whether a process with this pid still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A stdio MCP server the gateway runs and bridges to Streamable HTTP: one process per session, the
 * SDK's client through the gateway as for an HTTP server, and the process's life: ended on DELETE, on
 * idle, when it crashes (with a clear error, not a hang), and when the gateway stops.
 */
describe("MCP over stdio through the gateway", () => {
  let h: Harness;
  let support: ConnectedClient;
  const pids = () => h.logs.filter((line) => line.msg === "MCP server process started").map((line) => line.pid as number);
  const processEnded = (session: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const check = () => {
        const line = h.logs.find((l) => l.msg === "MCP session ended; its process is stopped" && l.session === session);
        if (line !== undefined) resolve(line);
        else setImmediate(check);
      };
      check();
    });

  beforeAll(async () => {
    h = await startHarness({
      grants: testToolGrants,
      configure: (config) =>
        withMcpServers(config, {
          tickets: stdioTicketsServer({ env: { TICKETS_MODE: "stdio" } }),
          "tickets-idle": stdioTicketsServer({ target: "spiffe://ai.company.org/mcp/tickets", idle_timeout: 1500 }),
        }),
    });
    support = await connectMcp(h, "customer-support", { sampling: true });
  });
  afterAll(async () => {
    await support?.close();
    const started = h === undefined ? [] : pids();
    await h?.close();
    // No process outlives the gateway.
    for (const pid of started) expect(alive(pid)).toBe(false);
  });

  it("filters the tool list and authorizes calls by name", async () => {
    const { tools } = await support.client.listTools();
    expect(tools.map((t) => t.name)).toContain("search_tickets");
    expect(tools.map((t) => t.name)).not.toContain("delete_ticket");
    const result = await support.client.callTool({ name: "get_ticket", arguments: { id: "T-1002" } });
    expect(result.structuredContent).toMatchObject({ id: "T-1002", status: "pending" });
    await expect(support.client.callTool({ name: "delete_ticket", arguments: { id: "T-1002" } })).rejects.toMatchObject({ code: -32003 });
  });

  it("serves resources and prompts, filtered", async () => {
    const { resources } = await support.client.listResources();
    expect(resources.map((r) => r.uri)).not.toContain("tickets://internal/audit-log");
    const read = await support.client.readResource({ uri: "tickets://ticket/T-1001" });
    expect(read.contents[0]?.uri).toBe("tickets://ticket/T-1001");
    const { prompts } = await support.client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(["summarize_ticket"]);
  });

  it("streams progress while the tool runs", async () => {
    const seen: number[] = [];
    const result = await support.client.callTool({ name: "count_slowly", arguments: { steps: 3, hold: "stdio-progress" } }, undefined, {
      onprogress: (progress) => {
        seen.push(progress.progress);
        // The process waits for this release, which only the progress it streamed can trigger.
        if (progress.progress === 1) void support.client.callTool({ name: "release_hold", arguments: { hold: "stdio-progress" } });
      },
    });
    expect(seen).toEqual([1, 2, 3]);
    expect(result.content).toEqual([{ type: "text", text: "counted to 3" }]);
  });

  it("passes a cancellation on to the process", async () => {
    const controller = new AbortController();
    let first: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      first = resolve;
    });
    const call = support.client.callTool({ name: "count_slowly", arguments: { steps: 2, hold: "stdio-cancel" } }, undefined, {
      signal: controller.signal,
      onprogress: () => first(),
    });
    await started;
    controller.abort("no longer needed");
    await expect(call).rejects.toThrow();
    // The process saw the cancellation: its handler stopped waiting and recorded it.
    for (;;) {
      const listed = await support.client.callTool({ name: "cancelled_holds", arguments: {} });
      if (JSON.stringify(listed.content).includes("stdio-cancel")) break;
    }
  });

  it("relays the server's sampling request to the agent in the call's stream", async () => {
    const result = await support.client.callTool({ name: "draft_reply", arguments: { id: "T-1001" } });
    expect(result.content).toEqual([{ type: "text", text: "Draft for T-1001: We are on it!" }]);
  });

  it("runs one process per session and ends it on DELETE", async () => {
    const before = pids().length;
    const other = await connectMcp(h, "customer-support");
    expect(pids().length).toBe(before + 1);
    const pid = pids().at(-1) as number;
    expect(alive(pid)).toBe(true);
    await other.client.callTool({ name: "search_tickets", arguments: { query: "refund" } });
    const localSession = h.logs.find((l) => l.msg === "MCP server process started" && l.pid === pid)?.session as string;
    const ended = processEnded(localSession);
    await other.transport.terminateSession();
    expect((await ended).why).toContain("DELETE");
    await other.close();
  });

  it("ends an idle session's process", async () => {
    const idle = await connectMcp(h, "customer-support", { server: "tickets-idle" });
    const localSession = h.logs.findLast((l) => l.msg === "MCP server process started" && l.server === "tickets-idle")?.session as string;
    expect((await processEnded(localSession)).why).toContain("no request for");
    await expect(idle.client.listTools()).rejects.toMatchObject({ code: 404, message: expect.stringContaining("it ended (no request for") });
    await idle.close();
  });

  it("answers the waiting request with a clear error when the process crashes, and ends the session", async () => {
    const victim = await connectMcp(h, "customer-support");
    const error = await victim.client.callTool({ name: "crash", arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32010);
    expect((error as McpError).message).toMatch(/stopped before answering: its process exited with code 3/);
    await expect(victim.client.listTools()).rejects.toMatchObject({ code: 404, message: expect.stringContaining("exited with code 3") });
    await victim.close();
    const line = await h.logLine((l) => (l.resource as { name?: string } | undefined)?.name === "crash");
    expect(line).toMatchObject({ outcome: "upstream_error", error: { code: "TG_ERR_UPSTREAM_FAILED", reason: "mcp.stdio_exited" } });
  });

  it("gives a clear error when the command cannot be started", async () => {
    const broken = await startHarness({
      configure: (config) => withMcpServers(config, { tickets: stdioTicketsServer({ command: "/nonexistent/mcp-server" }) }),
    });
    try {
      const error = await connectMcp(broken, "customer-support").catch((e: unknown) => e);
      expect(String(error)).toMatch(/could not be started \(ENOENT\)/);
    } finally {
      await broken.close();
    }
  });

  it("logged no internal error along the way", () => {
    expect(h.logs.filter((line) => line.msg === "internal error" || line.level === "error")).toEqual([]);
  });
});
