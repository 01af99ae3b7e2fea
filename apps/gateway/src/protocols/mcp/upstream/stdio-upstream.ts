import { randomUUID } from "node:crypto";
import type { McpServerConfig } from "../../../config/mcp-schema.ts";
import { TollgateError } from "../../../errors/tollgate-error.ts";
import { LruCache } from "../../../identity/lru-cache.ts";
import type { JsonObject } from "../json-rpc.ts";
import type { Era } from "../protocol-version.ts";
import type { McpUpstream, UpstreamCall, UpstreamReply } from "./mcp-upstream.ts";
import { StdioChild } from "./stdio-child.ts";
import { LegacyStdioSession } from "./stdio-legacy-session.ts";
import { ModernStdioBridge } from "./stdio-modern-bridge.ts";

export interface StdioUpstreamOptions {
  name: string;
  config: McpServerConfig & { command: string };
  /** The longest line the process may write (one JSON-RPC message). */
  maxMessageSize: number;
  log: {
    info(detail: Record<string, unknown>, message: string): void;
    warn(detail: Record<string, unknown>, message: string): void;
  };
}

interface Tracked {
  readonly busy: boolean;
  readonly ended: boolean;
  end(why: string): Promise<void>;
}

/**
 * A stdio MCP server: the gateway runs the configured command itself, one process per MCP session
 * (2025-11-25 and earlier) or per caller (2026-07-28, which has no sessions), and bridges it to
 * Streamable HTTP. A process ends on DELETE, after `idle_timeout` with no request and nothing in
 * flight, when it exits on its own (its waiting requests are answered with an error that says so),
 * and when the gateway stops: no process outlives the gateway's close.
 *
 * Processes live in the replica that started them: a session id sealed for a stdio server names that
 * replica, and another replica answers it with 404 (the client starts a new session), since it has
 * no way to reach a process elsewhere.
 */
export class StdioUpstream implements McpUpstream {
  readonly transport = "stdio" as const;
  readonly #name: string;
  readonly #config: StdioUpstreamOptions["config"];
  readonly #maxMessageSize: number;
  readonly #log: StdioUpstreamOptions["log"];
  readonly #sessions = new Map<string, LegacyStdioSession>();
  readonly #bridges = new Map<string, ModernStdioBridge>();
  readonly #timers = new Map<Tracked, NodeJS.Timeout>();
  /** Why recent sessions ended, for a 404 that says more than "not found". */
  readonly #endedSessions = new LruCache<string>(1024);
  #closed = false;

  constructor(options: StdioUpstreamOptions) {
    this.#name = options.name;
    this.#config = options.config;
    this.#maxMessageSize = options.maxMessageSize;
    this.#log = options.log;
  }

  /** Processes running now. */
  get processes(): number {
    return this.#sessions.size + this.#bridges.size;
  }

  async send(call: UpstreamCall): Promise<UpstreamReply> {
    if (this.#closed) throw new TollgateError("TG_ERR_UNAVAILABLE", "The gateway is shutting down.", { reason: "mcp.closing" });
    if (call.era === "modern") {
      const bridge = this.#bridges.get(call.caller) ?? this.#startBridge(call.caller);
      this.#touch(bridge);
      return bridge.handle(call);
    }
    if (call.session === undefined) {
      if (call.method !== "POST" || call.message?.kind !== "request" || call.message.method !== "initialize") {
        throw new TollgateError("TG_ERR_BAD_REQUEST", "This request needs the Mcp-Session-Id of a session; start one with initialize.", {
          reason: "mcp.session_required",
        });
      }
      const session = this.#startSession(call.caller);
      this.#touch(session);
      return session.handle(call);
    }
    const session = this.#sessions.get(call.session);
    if (session === undefined || session.caller !== call.caller) {
      const why = session === undefined ? this.#endedSessions.get(call.session) : undefined;
      throw new TollgateError("TG_ERR_MCP_SESSION_NOT_FOUND", `Session not found${why === undefined ? "" : `: it ended (${why})`}; start a new one with initialize.`, {
        reason: "mcp.session_ended",
      });
    }
    this.#touch(session);
    return session.handle(call);
  }

  async answer(session: string | undefined, era: Era, _protocolVersion: string | undefined, message: JsonObject): Promise<void> {
    if (era === "legacy" && session !== undefined) this.#sessions.get(session)?.answer(message);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all: Tracked[] = [...this.#sessions.values(), ...this.#bridges.values()];
    await Promise.all(all.map((tracked) => tracked.end("the gateway is shutting down")));
  }

  #spawn(context: Record<string, unknown>): StdioChild {
    if (this.processes >= this.#config.max_sessions) {
      throw new TollgateError("TG_ERR_UNAVAILABLE", `The MCP server "${this.#name}" has as many sessions as it may run (${this.#config.max_sessions}); try again later.`, {
        reason: "mcp.stdio_session_limit",
        headers: { "retry-after": "30" },
      });
    }
    const child = new StdioChild(
      { command: this.#config.command, args: this.#config.args, env: this.#config.env, cwd: this.#config.cwd },
      this.#maxMessageSize,
      (line) => this.#log.info({ server: this.#name, ...context, stderr: line }, "MCP server stderr"),
    );
    this.#log.info({ server: this.#name, ...context, pid: child.pid }, "MCP server process started");
    return child;
  }

  #startSession(caller: string): LegacyStdioSession {
    const id = randomUUID();
    const child = this.#spawn({ session: id });
    const session = new LegacyStdioSession({
      id,
      caller,
      server: this.#name,
      child,
      warn: (message, detail) => this.#log.warn(detail, message),
    });
    this.#sessions.set(id, session);
    session.onEnd = (why) => {
      this.#sessions.delete(id);
      this.#endedSessions.set(id, why);
      this.#untrack(session);
      this.#log.info({ server: this.#name, session: id, why }, "MCP session ended; its process is stopped");
    };
    return session;
  }

  #startBridge(caller: string): ModernStdioBridge {
    const child = this.#spawn({ caller });
    const bridge = new ModernStdioBridge({ caller, server: this.#name, child });
    this.#bridges.set(caller, bridge);
    bridge.onEnd = (why) => {
      this.#bridges.delete(caller);
      this.#untrack(bridge);
      this.#log.info({ server: this.#name, caller, why }, "MCP server process stopped");
    };
    return bridge;
  }

  /** (Re)starts the idle clock of a session; when it runs out with nothing in flight, the session ends. */
  #touch(tracked: Tracked): void {
    const existing = this.#timers.get(tracked);
    if (existing !== undefined) {
      existing.refresh();
      return;
    }
    const idle = this.#config.idle_timeout;
    const timer = setTimeout(() => {
      if (tracked.ended) return;
      if (tracked.busy) timer.refresh();
      else void tracked.end(`no request for ${Math.round(idle / 1000)}s`);
    }, idle);
    timer.unref();
    this.#timers.set(tracked, timer);
  }

  #untrack(tracked: Tracked): void {
    clearTimeout(this.#timers.get(tracked));
    this.#timers.delete(tracked);
  }
}
