import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { completable } from "@modelcontextprotocol/sdk/server/completable.js";
import { CreateMessageResultSchema, SubscribeRequestSchema, UnsubscribeRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { TicketStore } from "./ticket-store.ts";
import type { ToolHolds } from "./tool-holds.ts";

export interface TicketsServerOptions {
  store: TicketStore;
  holds: ToolHolds;
  /** Also register the tools tests steer the server with (count_slowly, release_hold, cancelled_holds). */
  testTools: boolean;
  /** With test tools: what the `crash` tool does (a stdio server exits; an HTTP one drops its connections). */
  crash?: () => void;
}

const ticketUri = (id: string) => `tickets://ticket/${id}`;

/**
 * The demo MCP server `tickets`, built with the official SDK's McpServer: a small helpdesk with the
 * tools search_tickets, get_ticket, delete_ticket and draft_reply (which asks the agent's model for a
 * draft through sampling), one resource per ticket plus an internal audit log, and the prompts
 * summarize_ticket and escalation_email. The quickstart's policy lets customer-support search and
 * read tickets, but not delete them or read the audit log.
 */
export function createTicketsServer(options: TicketsServerOptions): McpServer {
  const { store, holds } = options;
  const server = new McpServer(
    { name: "tollgate-demo-tickets", version: "1.0.0" },
    { capabilities: { logging: {} }, instructions: "A demo helpdesk: search tickets, read them, draft replies." },
  );

  server.registerTool(
    "search_tickets",
    {
      title: "Search tickets",
      description: "Finds support tickets whose text contains every word of the query.",
      inputSchema: { query: z.string().describe("Words to look for"), status: z.enum(["open", "pending", "closed"]).optional() },
      annotations: { readOnlyHint: true },
    },
    async ({ query, status }, extra) => {
      const progressToken = extra._meta?.progressToken;
      const found = store.search(query, status);
      if (progressToken !== undefined) {
        await extra.sendNotification({ method: "notifications/progress", params: { progressToken, progress: 1, total: 2, message: "searching" } });
        await extra.sendNotification({ method: "notifications/progress", params: { progressToken, progress: 2, total: 2, message: `${found.length} found` } });
      }
      return {
        content: [{ type: "text", text: found.length === 0 ? "No ticket matches." : found.map((t) => `${t.id} [${t.status}] ${t.subject}`).join("\n") }],
        structuredContent: { tickets: found.map(({ id, subject, status: s }) => ({ id, subject, status: s })) },
      };
    },
  );

  server.registerTool(
    "get_ticket",
    {
      title: "Get a ticket",
      description: "Reads one ticket by its id, e.g. T-1001.",
      inputSchema: { id: z.string() },
      annotations: { readOnlyHint: true },
    },
    async ({ id }) => {
      const ticket = store.get(id);
      if (ticket === undefined) return { isError: true, content: [{ type: "text", text: `No ticket ${id}.` }] };
      return { content: [{ type: "text", text: JSON.stringify(ticket) }], structuredContent: { ...ticket } };
    },
  );

  // Subscriptions: a session watching a ticket is told when it changes (here: when it is deleted, in
  // whichever session), on its GET stream.
  const notify = (id: string) => void server.server.sendResourceUpdated({ uri: ticketUri(id) }).catch(() => {});
  const watched = new Set<string>();
  const idOf = (uri: string) => (uri.startsWith("tickets://ticket/") ? uri.slice("tickets://ticket/".length) : undefined);
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const id = idOf(request.params.uri);
    if (id !== undefined) {
      watched.add(id);
      store.watch(id, notify);
    }
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    const id = idOf(request.params.uri);
    if (id !== undefined) {
      watched.delete(id);
      store.unwatch(id, notify);
    }
    return {};
  });
  server.server.onclose = () => {
    for (const id of watched) store.unwatch(id, notify);
  };

  server.registerTool(
    "delete_ticket",
    {
      title: "Delete a ticket",
      description: "Deletes a ticket for good.",
      inputSchema: { id: z.string() },
      annotations: { destructiveHint: true },
    },
    async ({ id }) => {
      const deleted = store.delete(id);
      return { isError: !deleted, content: [{ type: "text", text: deleted ? `Deleted ${id}.` : `No ticket ${id}.` }] };
    },
  );

  server.registerTool(
    "draft_reply",
    {
      title: "Draft a reply",
      description: "Drafts a reply to a ticket with the agent's own model (MCP sampling).",
      inputSchema: { id: z.string() },
    },
    async ({ id }, extra) => {
      const ticket = store.get(id);
      if (ticket === undefined) return { isError: true, content: [{ type: "text", text: `No ticket ${id}.` }] };
      const result = await extra.sendRequest(
        {
          method: "sampling/createMessage",
          params: {
            messages: [{ role: "user", content: { type: "text", text: `Draft a short, friendly reply to: ${ticket.subject}. ${ticket.body}` } }],
            maxTokens: 200,
          },
        },
        CreateMessageResultSchema,
      );
      const text = result.content.type === "text" ? result.content.text : "(no text)";
      return { content: [{ type: "text", text: `Draft for ${id}: ${text}` }] };
    },
  );

  server.registerResource(
    "ticket",
    new ResourceTemplate("tickets://ticket/{id}", {
      list: async () => ({ resources: store.all().map((t) => ({ uri: ticketUri(t.id), name: t.id, title: t.subject, mimeType: "application/json" })) }),
      complete: { id: (value) => store.all().map((t) => t.id).filter((id) => id.startsWith(value)) },
    }),
    { title: "A support ticket", mimeType: "application/json" },
    async (uri, { id }) => {
      const ticket = typeof id === "string" ? store.get(id) : undefined;
      return { contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(ticket ?? null) }] };
    },
  );

  server.registerResource(
    "audit-log",
    "tickets://internal/audit-log",
    { title: "Helpdesk audit log", description: "Who changed which ticket; internal.", mimeType: "text/plain" },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: "text/plain", text: "2026-12-04T18:00:00Z operator closed T-1003\n" }] }),
  );

  server.registerPrompt(
    "summarize_ticket",
    {
      title: "Summarize a ticket",
      description: "Asks the model for a one-paragraph summary of a ticket.",
      argsSchema: { id: completable(z.string(), (value) => store.all().map((t) => t.id).filter((id) => id.startsWith(value))) },
    },
    ({ id }) => ({
      messages: [{ role: "user", content: { type: "text", text: `Summarize ticket ${id}: ${store.get(id)?.body ?? "(unknown ticket)"}` } }],
    }),
  );

  server.registerPrompt(
    "escalation_email",
    { title: "Escalation e-mail", description: "Drafts an escalation to the operations team.", argsSchema: { id: z.string() } },
    ({ id }) => ({ messages: [{ role: "user", content: { type: "text", text: `Write an escalation e-mail about ticket ${id}.` } }] }),
  );

  if (options.testTools) registerTestTools(server, holds, options.crash);
  return server;
}

/** Tools that let a test hold a call open, watch it, cancel it, or kill the server. */
function registerTestTools(server: McpServer, holds: ToolHolds, crash: (() => void) | undefined): void {
  server.registerTool(
    "count_slowly",
    {
      description: "Sends a progress notification per step; after the first, waits until release_hold(hold) is called (or the call is cancelled).",
      inputSchema: { steps: z.number().int().min(1).max(100), hold: z.string() },
    },
    async ({ steps, hold }, extra) => {
      const progressToken = extra._meta?.progressToken;
      const progress = async (step: number) => {
        if (progressToken !== undefined) {
          await extra.sendNotification({ method: "notifications/progress", params: { progressToken, progress: step, total: steps } });
        }
      };
      await progress(1);
      if ((await holds.wait(hold, extra.signal)) === "cancelled") return { isError: true, content: [{ type: "text", text: "cancelled" }] };
      for (let step = 2; step <= steps; step++) await progress(step);
      return { content: [{ type: "text", text: `counted to ${steps}` }] };
    },
  );

  server.registerTool(
    "release_hold",
    { description: "Releases a count_slowly call waiting on this hold.", inputSchema: { hold: z.string() } },
    async ({ hold }) => {
      holds.release(hold);
      return { content: [{ type: "text", text: `released ${hold}` }] };
    },
  );

  server.registerTool(
    "cancelled_holds",
    { description: "The holds whose waiting call was cancelled, in order." },
    async () => ({ content: [{ type: "text", text: JSON.stringify(holds.cancelled) }] }),
  );

  if (crash === undefined) return;
  server.registerTool(
    "crash",
    {
      description: "Fails the server in the middle of this call: at once, or (with hold) after a first progress notification, once the hold is released.",
      inputSchema: { hold: z.string().optional() },
    },
    async ({ hold }, extra) => {
      const progressToken = extra._meta?.progressToken;
      if (hold !== undefined) {
        if (progressToken !== undefined) await extra.sendNotification({ method: "notifications/progress", params: { progressToken, progress: 1 } });
        await holds.wait(hold, extra.signal);
      }
      crash();
      // Never answered: the server is gone.
      return new Promise<never>(() => {});
    },
  );
}
