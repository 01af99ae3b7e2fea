/**
 * The demo MCP server `tickets` as a stdio server: a process that speaks JSON-RPC on stdin and
 * stdout, the way most MCP servers are shipped. The gateway runs it (one process per session) when a
 * server is configured with `command`:
 *
 *   mcp:
 *     servers:
 *       tickets-stdio:
 *         target: spiffe://ai.company.org/mcp/tickets
 *         command: node
 *         args: [apps/gateway/src/demo/mcp/tickets-stdio.ts]
 *
 * `--test-tools` adds the tools tests steer it with, `crash` among them (the process exits with 3).
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { TicketStore } from "./ticket-store.ts";
import { createTicketsServer } from "./tickets-server.ts";
import { ToolHolds } from "./tool-holds.ts";

const server = createTicketsServer({
  store: new TicketStore(),
  holds: new ToolHolds(),
  testTools: process.argv.includes("--test-tools"),
  crash: () => process.exit(3),
});
await server.connect(new StdioServerTransport());
// The client closing stdin is the end of the session (stdio transport): exit rather than linger.
process.stdin.once("end", () => process.exit(0));
process.stdin.once("close", () => process.exit(0));
