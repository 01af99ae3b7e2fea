import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { Agent, request } from "undici";

/** How the CLI reaches the admin API and which SVID it presents. */
export interface AdminConnection {
  url: string;
  cert: string;
  key: string;
  ca: string;
}

/** The connection options every admin command takes. */
export const connectionOptions = {
  url: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  ca: { type: "string" },
} as const;

export const connectionHelp = `Connection (defaults fit the quickstart, run in its folder):
  --url URL     the admin API (env TOLLGATE_ADMIN_URL; default https://localhost:8444)
  --cert FILE   the operator's X.509-SVID (env TOLLGATE_ADMIN_CERT; default .data/pki/operator.pem)
  --key FILE    its private key (env TOLLGATE_ADMIN_KEY; default .data/pki/operator-key.pem)
  --ca FILE     the bundle that signed the gateway's SVID (env TOLLGATE_ADMIN_CA; default .data/pki/ca.pem)
`;

export function resolveConnection(values: { url?: string | undefined; cert?: string | undefined; key?: string | undefined; ca?: string | undefined }, cwd: string, env: NodeJS.ProcessEnv): AdminConnection {
  const pki = join(cwd, ".data", "pki");
  return {
    url: (values.url ?? env.TOLLGATE_ADMIN_URL ?? "https://localhost:8444").replace(/\/+$/, ""),
    cert: resolve(cwd, values.cert ?? env.TOLLGATE_ADMIN_CERT ?? join(pki, "operator.pem")),
    key: resolve(cwd, values.key ?? env.TOLLGATE_ADMIN_KEY ?? join(pki, "operator-key.pem")),
    ca: resolve(cwd, values.ca ?? env.TOLLGATE_ADMIN_CA ?? join(pki, "ca.pem")),
  };
}

/** An answer of the admin API other than 2xx, with the message the API wrote for the operator. */
export class AdminApiError extends Error {
  override readonly name = "AdminApiError";
  readonly status: number;
  readonly code: string | undefined;

  constructor(status: number, code: string | undefined, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** A failure to reach the API at all (refused, bad certificate files): said plainly, with the fix. */
export class AdminConnectionError extends Error {
  override readonly name = "AdminConnectionError";
}

/**
 * The admin API as the CLI calls it: HTTPS with the operator's SVID as client certificate, checked
 * against the trust bundle (the gateway's SVID must chain to it).
 */
export class AdminClient {
  private readonly connection: AdminConnection;
  private readonly agent: Agent;

  constructor(connection: AdminConnection) {
    this.connection = connection;
    const read = (file: string, what: string) => {
      try {
        return readFileSync(file, "utf8");
      } catch {
        throw new AdminConnectionError(`cannot read the ${what} ${file}: pass --${what === "certificate" ? "cert" : what === "private key" ? "key" : "ca"} FILE, or run in the quickstart's folder`);
      }
    };
    const host = new URL(connection.url).hostname.replace(/^\[|\]$/g, "");
    this.agent = new Agent({
      connect: {
        cert: read(connection.cert, "certificate"),
        key: read(connection.key, "private key"),
        ca: read(connection.ca, "trust bundle"),
        // SNI carries names only; an IP address is checked against the certificate's IP SANs.
        ...(isIP(host) === 0 ? { servername: host } : {}),
      },
    });
  }

  async json<T>(method: "GET" | "POST" | "PUT" | "DELETE", path: string, query: Record<string, string | number | undefined> = {}, body?: unknown): Promise<T> {
    const response = await this.call(method, path, query, body);
    return (await response.json()) as T;
  }

  async text(path: string, query: Record<string, string | number | undefined> = {}): Promise<string> {
    return (await this.call("GET", path, query)).text();
  }

  async stream(path: string, query: Record<string, string | number | undefined> = {}): Promise<Readable> {
    return this.call("GET", path, query);
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private async call(method: string, path: string, query: Record<string, string | number | undefined>, body?: unknown) {
    const url = new URL(`${this.connection.url}${path}`);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, String(value));
    let response;
    try {
      response = await request(url, {
        method: method as "GET",
        dispatcher: this.agent,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      });
    } catch (error) {
      throw new AdminConnectionError(`cannot reach the admin API at ${this.connection.url}: ${(error as Error).message} (is the gateway running with admin.enabled, and is --url right?)`);
    }
    if (response.statusCode >= 300) {
      const text = await response.body.text();
      let code: string | undefined;
      let message = text;
      try {
        const parsed = JSON.parse(text) as { error?: { code?: string; message?: string; reasons?: string[] } };
        code = parsed.error?.code;
        message = parsed.error?.message ?? text;
      } catch {
        // Not the API's error shape: show what came.
      }
      throw new AdminApiError(response.statusCode, code, message);
    }
    return response.body;
  }
}
