/**
 * The `mcp:` section of the configuration: the MCP servers agents reach at /mcp/{server}, how the
 * gateway reaches each one (Streamable HTTP with its own credentials, or a stdio command it runs), the
 * key replicas share to seal session ids, and optional per-tool call quotas.
 */
import { z } from "zod";
import { budgetWindows } from "./budgets-schema.ts";
import { byteSize, duration, spiffeIdText } from "./schema-types.ts";

/** A server's name is a path segment of /mcp/{server}. */
export const mcpServerName = /^[A-Za-z0-9_-]{1,64}$/;

const upstreamAuth = z
  .discriminatedUnion("kind", [
    z.strictObject({ kind: z.literal("none") }),
    z.strictObject({
      kind: z.literal("bearer"),
      token: z.string().min(1).describe("Sent as `Authorization: Bearer <token>`; write ${ENV_VAR} to read it from the environment."),
    }),
    z.strictObject({
      kind: z.literal("svid"),
    }),
  ])
  .describe(
    "How the gateway authenticates to the server: none, a bearer token, or svid (mutual TLS with the gateway's own X.509-SVID; the server must present an SVID whose SPIFFE ID is the server's `target`).",
  );

const quota = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "letters, digits, dot, dash or underscore, at most 64").describe("Unique within the server; shown in errors and budget reports."),
  tools: z.array(z.string().min(1)).min(1).describe("Tool names or globs (`search_*`) the quota counts calls of."),
  calls: z.number().int().positive().describe("Calls allowed per window."),
  window: z.enum(budgetWindows).describe("Calendar window in UTC: minute, hour, day or month."),
  split: z.enum(["per_agent", "shared"]).default("per_agent").describe("per_agent: one counter per calling SPIFFE ID; shared: one counter for every caller."),
});

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const mcpServerSchema = z
  .strictObject({
    target: spiffeIdText.describe("The server's SPIFFE ID: `input.target` for policies, and, with auth kind svid, the identity its certificate must carry."),
    url: z.url({ protocol: /^https?$/ }).optional().describe("Streamable HTTP endpoint of the server, e.g. https://tickets-mcp:8443/mcp. Set url or command, not both."),
    auth: upstreamAuth.default({ kind: "none" }),
    headers: z.record(z.string(), z.string()).default({}).describe("Extra headers sent to an HTTP server; never the caller's."),
    timeout: duration.default(30_000).describe("Longest wait for an HTTP server's response headers."),
    idle_timeout: duration
      .default(600_000)
      .describe("HTTP: longest silence between two chunks of a response stream (the GET stream excepted). stdio: a session with no request for this long is ended and its process stopped."),
    command: z.string().min(1).optional().describe("A stdio server: the program the gateway runs, one process per MCP session. Set url or command, not both."),
    args: z.array(z.string()).default([]).describe("Arguments of the stdio command."),
    env: z
      .record(z.string().regex(envName, "must be an environment variable name"), z.string())
      .default({})
      .describe("Environment of the stdio command, besides PATH, HOME, LANG and TZ; the gateway's own environment (its keys) is never passed on."),
    cwd: z.string().optional().describe("Working directory of the stdio command (relative to the configuration file)."),
    max_sessions: z.number().int().positive().default(64).describe("stdio: most processes (sessions) at once on one replica; more are refused with 503."),
    quotas: z.array(quota).default([]).describe("Per-tool call quotas, counted in the budget store (shared by every replica when it is Redis)."),
  })
  .superRefine((value, ctx) => {
    if ((value.url === undefined) === (value.command === undefined)) {
      ctx.addIssue({ code: "custom", message: "set either url (a Streamable HTTP server) or command (a stdio server), exactly one" });
    }
    if (value.command !== undefined && value.auth.kind !== "none") {
      ctx.addIssue({ code: "custom", path: ["auth"], message: "auth applies to HTTP servers; a stdio server is a process the gateway runs itself" });
    }
    if (value.url !== undefined && value.auth.kind === "svid" && !value.url.startsWith("https:")) {
      ctx.addIssue({ code: "custom", path: ["url"], message: "auth kind svid is mutual TLS: the url must be https://" });
    }
    const names = new Set<string>();
    value.quotas.forEach((q, i) => {
      if (names.has(q.name)) ctx.addIssue({ code: "custom", path: ["quotas", i, "name"], message: `another quota of this server is named "${q.name}"` });
      names.add(q.name);
    });
  });

export type McpServerConfig = z.output<typeof mcpServerSchema>;
export type McpQuotaConfig = z.output<typeof quota>;

/** A session key: 32 bytes, written as 64 hex digits or base64 (standard or url-safe). */
const sessionKey = z
  .string()
  .transform((text, ctx) => {
    const key = decodeSessionKey(text);
    if (key === undefined) {
      ctx.addIssue({ code: "custom", message: "a session key is 32 random bytes written as 64 hex digits or base64, e.g. from `openssl rand -base64 32`" });
      return z.NEVER;
    }
    return text;
  })
  .meta({ "x-tollgate-type": "secret" });

export function decodeSessionKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex");
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const key = Buffer.from(trimmed.replaceAll("-", "+").replaceAll("_", "/"), "base64");
    return key.length === 32 ? key : undefined;
  }
  return undefined;
}

/** The demo server's name and SPIFFE ID (the quickstart's policy grants name it). */
export const demoMcpServer = { name: "tickets", target: "spiffe://ai.company.org/mcp/tickets" } as const;

export const mcpSectionSchema = z.strictObject({
  demo: z.boolean().default(false).describe("Start the built-in demo MCP server `tickets` (search_tickets, get_ticket, delete_ticket) on a loopback port, at /mcp/tickets."),
  session_keys: z
    .array(sessionKey)
    .default([])
    .describe(
      "Keys that seal the session ids agents hold (the upstream session inside, bound to the caller): the first seals, all unseal (rotation). Give every replica the same keys, e.g. [\"${TOLLGATE_MCP_SESSION_KEY}\"]; without any, a random key per process is used and sessions work on that replica only.",
    ),
  body_limit: byteSize.default(4 * 1024 * 1024).describe("Largest JSON-RPC message an agent may POST."),
  max_message_size: byteSize.default(16 * 1024 * 1024).describe("Largest message from a server the gateway inspects (a list to filter, one SSE event); a larger one fails the response."),
  servers: z.record(z.string().regex(mcpServerName, "letters, digits, dash or underscore, at most 64"), mcpServerSchema).default({}).describe("MCP servers by name: agents reach each at /mcp/{name}."),
}).superRefine((section, ctx) => {
  if (section.demo && section.servers[demoMcpServer.name] !== undefined) {
    ctx.addIssue({ code: "custom", path: ["servers", demoMcpServer.name], message: `the demo server is named "${demoMcpServer.name}"; rename this server or set mcp.demo to false` });
  }
});

export type McpSection = z.output<typeof mcpSectionSchema>;

/** The stdio servers' working directories, relative to the configuration file that names them. */
export function resolveMcpPaths(section: McpSection, at: (path: string) => string): McpSection {
  const servers = Object.fromEntries(
    Object.entries(section.servers).map(([name, server]) => [name, server.cwd === undefined ? server : { ...server, cwd: at(server.cwd) }]),
  );
  return { ...section, servers };
}
