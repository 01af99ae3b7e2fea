import { Pool } from "undici";
import type { McpServerConfig } from "../../../config/mcp-schema.ts";
import { TollgateError } from "../../../errors/tollgate-error.ts";
import type { SvidFileMaterial } from "../../../identity/svid-files.ts";
import { classifyFailure } from "../../../upstream/upstream-failure.ts";
import type { JsonObject } from "../json-rpc.ts";
import type { Era } from "../protocol-version.ts";
import type { McpUpstream, UpstreamCall, UpstreamReply } from "./mcp-upstream.ts";
import { isTargetMismatch, svidConnectOptions } from "./svid-connect.ts";

/** The gateway's SVID as it changes (SvidFileSource). */
export interface SvidMaterialSource {
  readonly current: SvidFileMaterial;
  on(event: "update", listener: (material: SvidFileMaterial) => void): unknown;
  off(event: "update", listener: (material: SvidFileMaterial) => void): unknown;
}

export interface HttpUpstreamOptions {
  name: string;
  config: McpServerConfig & { url: string };
  /** Needed when the server is reached with the gateway's SVID (auth kind svid). */
  svids: SvidMaterialSource | undefined;
  /** Problems that are not a caller's (a refusal the server could not be told of). */
  warn: (message: string, detail: Record<string, unknown>) => void;
}

/**
 * An MCP server reached over Streamable HTTP with the gateway's own credentials: a bearer token from
 * the configuration, or mutual TLS with the gateway's SVID (the server verified as its target SPIFFE
 * ID). One keep-alive connection pool per server; with SVID credentials the pool is replaced when the
 * SVID or the bundles are renewed (requests in flight finish on the old one).
 */
export class HttpUpstream implements McpUpstream {
  readonly transport = "http" as const;
  readonly #name: string;
  readonly #config: McpServerConfig & { url: string };
  readonly #origin: string;
  readonly #path: string;
  readonly #fixedHeaders: Record<string, string>;
  readonly #svids: SvidMaterialSource | undefined;
  readonly #warn: HttpUpstreamOptions["warn"];
  #pool: Pool | undefined;
  #problem: string | undefined;
  readonly #onSvidUpdate = (material: SvidFileMaterial) => this.#replacePool(material);

  constructor(options: HttpUpstreamOptions) {
    this.#name = options.name;
    this.#config = options.config;
    const url = new URL(options.config.url);
    this.#origin = url.origin;
    this.#path = `${url.pathname}${url.search}`;
    this.#svids = options.svids;
    this.#warn = options.warn;
    const auth = options.config.auth;
    this.#fixedHeaders = { ...options.config.headers, ...(auth.kind === "bearer" ? { authorization: `Bearer ${auth.token}` } : {}) };
    if (auth.kind === "svid") {
      if (this.#svids === undefined) throw new Error(`MCP server "${this.#name}": auth kind svid needs the gateway's SVID`);
      this.#replacePool(this.#svids.current);
      this.#svids.on("update", this.#onSvidUpdate);
    } else {
      this.#pool = this.#newPool(undefined);
    }
  }

  #newPool(connect: ReturnType<typeof svidConnectOptions>): Pool {
    return new Pool(this.#origin, {
      connections: 64,
      keepAliveTimeout: 30_000,
      ...(connect === undefined ? { connect: { timeout: 10_000 } } : { connect: { ...connect, timeout: 10_000 } }),
    });
  }

  #replacePool(material: SvidFileMaterial): void {
    const connect = svidConnectOptions(material, this.#config.target);
    const old = this.#pool;
    if (connect === undefined) {
      this.#pool = undefined;
      this.#problem = `no trust bundle is configured for the trust domain of ${this.#config.target}`;
    } else {
      this.#pool = this.#newPool(connect);
      this.#problem = undefined;
    }
    void old?.close();
  }

  async send(call: UpstreamCall): Promise<UpstreamReply> {
    const pool = this.#pool;
    if (pool === undefined) {
      throw new TollgateError("TG_ERR_UPSTREAM_FAILED", `The MCP server "${this.#name}" cannot be reached securely: ${this.#problem ?? "no credentials"}.`, {
        reason: "mcp.upstream_unverifiable",
      });
    }
    const headers: Record<string, string> = { ...this.#fixedHeaders, ...call.headers, "accept-encoding": "identity" };
    if (call.session !== undefined) headers["mcp-session-id"] = call.session;
    try {
      const response = await pool.request({
        path: this.#path,
        method: call.method,
        headers,
        body: call.method === "POST" ? (call.message?.raw ?? null) : null,
        signal: call.signal,
        headersTimeout: this.#config.timeout,
        bodyTimeout: call.longLived ? 0 : this.#config.idle_timeout,
      });
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      throw this.#failure(error, call.signal);
    }
  }

  async answer(session: string | undefined, _era: Era, protocolVersion: string | undefined, message: JsonObject): Promise<void> {
    const pool = this.#pool;
    if (pool === undefined) return;
    const headers: Record<string, string> = {
      ...this.#fixedHeaders,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    };
    if (session !== undefined) headers["mcp-session-id"] = session;
    if (protocolVersion !== undefined) headers["mcp-protocol-version"] = protocolVersion;
    try {
      const response = await pool.request({
        path: this.#path,
        method: "POST",
        headers,
        body: JSON.stringify(message),
        headersTimeout: this.#config.timeout,
        bodyTimeout: this.#config.timeout,
      });
      await response.body.dump();
      if (response.statusCode >= 300) this.#warn("the MCP server did not accept the gateway's refusal", { server: this.#name, status: response.statusCode });
    } catch (error) {
      this.#warn("the gateway's refusal could not be sent to the MCP server", { server: this.#name, err: (error as Error).message });
    }
  }

  #failure(error: unknown, signal: AbortSignal): TollgateError {
    if (isTargetMismatch(error)) {
      // The details (which SPIFFE ID was presented) are for the operator's log, not the agent.
      return new TollgateError("TG_ERR_UPSTREAM_FAILED", `The MCP server "${this.#name}" could not be verified: its certificate does not name its target SPIFFE ID.`, {
        reason: "mcp.upstream_identity_mismatch",
        cause: error,
      });
    }
    const kind = classifyFailure(error, signal);
    if (kind === "timeout") {
      return new TollgateError("TG_ERR_UPSTREAM_TIMEOUT", `The MCP server "${this.#name}" did not answer in time.`, { reason: "upstream.timeout", cause: error });
    }
    if (kind === "aborted") {
      return new TollgateError("TG_ERR_UPSTREAM_FAILED", `The request was abandoned by the caller before the MCP server "${this.#name}" answered.`, {
        reason: "upstream.aborted",
        cause: error,
      });
    }
    if (kind === "connection") {
      return new TollgateError("TG_ERR_UPSTREAM_FAILED", `The MCP server "${this.#name}" could not be reached.`, { reason: "upstream.connection", cause: error });
    }
    return new TollgateError("TG_ERR_INTERNAL", "The gateway failed to forward the request.", { cause: error });
  }

  async close(): Promise<void> {
    this.#svids?.off("update", this.#onSvidUpdate);
    await this.#pool?.close();
  }
}
