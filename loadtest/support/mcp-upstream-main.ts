// The demo MCP server `tickets` in a process of its own: prints {"url": ...} once listening, stops on SIGTERM.
import { startTicketsMcpServer } from "../../apps/gateway/src/demo/mcp/tickets-http-server.ts";

const token = process.argv[2];
const server = await startTicketsMcpServer({ ...(token === undefined ? {} : { token }), requestLog: 0 });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.once("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
