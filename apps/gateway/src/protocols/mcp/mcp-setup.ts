import { randomBytes } from "node:crypto";
import { decodeSessionKey, demoMcpServer, type McpSection, type McpServerConfig, mcpServerSchema } from "../../config/mcp-schema.ts";
import type { McpContext, McpLog, McpServerRoute } from "./mcp-context.ts";
import { SessionSealer } from "./session-token.ts";
import { type QuotaStore, ToolCallQuotas } from "./tool-call-quotas.ts";
import { HttpUpstream, type SvidMaterialSource } from "./upstream/http-upstream.ts";
import type { McpUpstream } from "./upstream/mcp-upstream.ts";
import { StdioUpstream } from "./upstream/stdio-upstream.ts";

export interface McpSetupOptions {
  section: McpSection;
  /** The gateway's SVID, for servers reached with auth kind svid. */
  svids: SvidMaterialSource;
  /** The budget store quotas count in. */
  quotaStore: QuotaStore | undefined;
  /** How long a quota reservation is held before it lapses (budgets.lease). */
  leaseMs: number;
  now: () => number;
  log: McpLog;
}

export interface McpSetup {
  readonly context: McpContext;
  /** The demo server, when `mcp.demo` started one (tests steer it). */
  readonly demo: import("../../demo/mcp/tickets-http-server.ts").TicketsMcpServer | undefined;
  /** Stops every upstream: HTTP pools closed, stdio processes ended. */
  close(): Promise<void>;
}

/**
 * Builds the MCP protocol module's context from the configuration, at start: one upstream per
 * server, the quotas, and the sealer of session ids (with the configured keys, or a key of this
 * process alone, which makes sessions work on this replica only; said once, at start).
 */
export async function createMcp(options: McpSetupOptions): Promise<McpSetup> {
  const { section, log } = options;
  const servers: Record<string, McpServerConfig> = { ...section.servers };
  // Loaded only when asked for, as the LLM demo is.
  const demoToken = `demo-${randomBytes(18).toString("base64url")}`;
  const demo = section.demo ? await (await import("../../demo/mcp/tickets-http-server.ts")).startTicketsMcpServer({ token: demoToken, requestLog: 0 }) : undefined;
  if (demo !== undefined) {
    servers[demoMcpServer.name] = mcpServerSchema.parse({ target: demoMcpServer.target, url: demo.url, auth: { kind: "bearer", token: demoToken } });
  }

  const keys = section.session_keys.map((text) => decodeSessionKey(text)).filter((key): key is Buffer => key !== undefined);
  if (keys.length === 0 && Object.keys(servers).length > 0) {
    const message = "mcp.session_keys is not set: MCP session ids are sealed with a key of this process, so a session works on this replica only and not after a restart";
    // Worth a warning where replicas could be: not for the quickstart's demo server alone.
    if (Object.keys(section.servers).length > 0) log.warn({}, message);
    else log.info({}, message);
  }
  const sessions = keys.length > 0 ? new SessionSealer(keys) : SessionSealer.ephemeral();

  const routes = new Map<string, McpServerRoute>();
  const upstreams: McpUpstream[] = [];
  try {
    for (const [name, config] of Object.entries(servers)) {
      const upstream = createUpstream(name, config, options);
      upstreams.push(upstream);
      const quotas = new ToolCallQuotas({ server: name, quotas: config.quotas, store: options.quotaStore, now: options.now, leaseMs: options.leaseMs });
      routes.set(name, { name, target: config.target, upstream, quotas });
    }
  } catch (error) {
    await Promise.all(upstreams.map((upstream) => upstream.close()));
    await demo?.close();
    throw error;
  }

  return {
    context: {
      servers: routes,
      sessions,
      replicaId: randomBytes(8).toString("hex"),
      bodyLimit: section.body_limit,
      maxMessageSize: section.max_message_size,
      log,
    },
    demo,
    close: async () => {
      await Promise.all(upstreams.map((upstream) => upstream.close()));
      await demo?.close();
    },
  };
}

function createUpstream(name: string, config: McpServerConfig, options: McpSetupOptions): McpUpstream {
  if (config.url !== undefined) {
    return new HttpUpstream({
      name,
      config: { ...config, url: config.url },
      svids: config.auth.kind === "svid" ? options.svids : undefined,
      warn: (message, detail) => options.log.warn(detail, message),
    });
  }
  if (config.command !== undefined) {
    return new StdioUpstream({ name, config: { ...config, command: config.command }, maxMessageSize: options.section.max_message_size, log: options.log });
  }
  throw new Error(`MCP server "${name}" has neither url nor command`);
}
