import { relative } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../config/config-error.ts";
import { ConfigWatcher } from "../config/config-watcher.ts";
import { loadConfig } from "../config/load.ts";
import { startGateway, type RunningGateway } from "../server/gateway.ts";

const help = `Usage: tollgate serve [--config FILE]

Starts the gateway. Without --config (or TOLLGATE_CONFIG, or ./tollgate.yaml) it runs on its embedded
defaults: a development CA under .data/pki, the shipped policies, and a local demo provider.
`;

export async function runServeCommand(args: string[]): Promise<number> {
  let values: { config?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({ args, options: { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } } }));
  } catch (error) {
    process.stderr.write(`tollgate serve: ${(error as Error).message}\n\n${help}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }

  let loaded;
  try {
    loaded = loadConfig({ file: values.config });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tollgate serve: ${error.message}\n`);
      return 2;
    }
    throw error;
  }

  const gateway = await startGateway({ config: loaded.config });
  // A configuration file is watched: budgets and prices change without a restart.
  const watcher = loaded.source === "embedded defaults" ? undefined : new ConfigWatcher(loaded.source);
  watcher?.on("change", (config) => gateway.reconfigure(config));
  watcher?.on("error", (error) => gateway.logger.error({ err: error.message }, "the changed configuration is not valid; the last good one stays in force"));
  gateway.logger.info({ config: loaded.source, dataPlane: gateway.dataPlaneUrl, health: gateway.healthUrl }, "tollgate is serving");
  if (gateway.pki !== undefined && process.stdout.isTTY !== false) process.stdout.write(quickstartBanner(gateway));

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      gateway.logger.info({ signal }, "shutting down: finishing open requests");
      resolve();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  watcher?.close();
  await gateway.close();
  return 0;
}

/** Copy-paste commands for one allowed and one denied call, with the quickstart's certificates. */
function quickstartBanner(gateway: RunningGateway): string {
  const pki = gateway.pki;
  if (pki === undefined) return "";
  const file = (path: string) => relative(process.cwd(), path) || path;
  const ca = file(pki.caFile);
  const support = pki.identities["customer-support"];
  if (support === undefined) return "";
  const port = new URL(gateway.dataPlaneUrl).port;
  const base = `https://localhost:${port}`;
  const curl = `curl --cacert ${ca} --cert ${file(support.certificateFile)} --key ${file(support.keyFile)}`;
  return `
Tollgate is up: data plane ${base} (mTLS), probes ${gateway.healthUrl}/readyz

Allowed: customer-support chats with demo-chat
  ${curl} \\
    ${base}/v1/chat/completions -H 'content-type: application/json' \\
    -d '{"model":"demo-chat","messages":[{"role":"user","content":"Hello, gateway"}]}'

Denied: customer-support may not train models
  ${curl} \\
    ${base}/v1/fine_tuning/jobs -H 'content-type: application/json' \\
    -d '{"model":"demo-chat","training_file":"file-abc"}'

${gateway.mcpDemo === undefined ? "" : mcpExample(curl, base)}
SVIDs for the other agents are in ${file(pki.dir)}/ (code-review, training, operator).
${
  gateway.adminUrl === undefined
    ? ""
    : `
Spend and the audit trail (admin API ${gateway.adminUrl.replace("127.0.0.1", "localhost")}, with the operator's SVID):
  npx tollgate spend --by agent --since 7d
  npx tollgate audit tail -n 20
`
}`;
}

/** One stateless MCP call (protocol 2026-07-28 needs no session), to the demo server `tickets`. */
function mcpExample(curl: string, base: string): string {
  const meta = '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}';
  return `
MCP: customer-support searches tickets (try "delete_ticket": denied)
  ${curl} \\
    ${base}/mcp/tickets -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \\
    -H 'mcp-protocol-version: 2026-07-28' -H 'mcp-method: tools/call' -H 'mcp-name: search_tickets' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search_tickets","arguments":{"query":"parcel"},${meta}}}'
`;
}
