import { parseArgs } from "node:util";
import { microsToUsd } from "../protocols/admin/spend-csv.ts";
import { AdminClient, connectionHelp, connectionOptions, resolveConnection } from "./admin-client.ts";
import { runAdminCommand } from "./admin-command-errors.ts";
import { type CommandIo, processIo, runSubcommand, UsageError } from "./command-io.ts";
import { textTable } from "./text-table.ts";

const usage = `Usage:
  tollgate audit search [FILTERS] [--limit N] [--cursor C] [--format table|json|ndjson]
                                        one page of audit rows, newest first; prints the next page's cursor
  tollgate audit tail [FILTERS] [-n N] [--follow] [--interval 1s]
                                        the last N rows (default 20), oldest first; --follow keeps printing new ones
  tollgate audit export [FILTERS]       every matching row as NDJSON on stdout
  tollgate audit verify [--chain ID]    check the hash chains; names the first edited, deleted or reordered row

FILTERS: --agent SPIFFE_ID --team NAME --model NAME --decision allow|deny|none
         --kind model|tool|resource|prompt|collection|admin --outcome OUTCOME --protocol llm|mcp|vector|admin
         --request-id ID --since 24h | --from DATE [--to DATE]

${connectionHelp}`;

const filterOptions = {
  agent: { type: "string" },
  team: { type: "string" },
  model: { type: "string" },
  decision: { type: "string" },
  kind: { type: "string" },
  outcome: { type: "string" },
  protocol: { type: "string" },
  "request-id": { type: "string" },
  since: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
} as const;

interface AuditEvent {
  request_id: string;
  occurred_at: string;
  caller: string | null;
  protocol: string;
  resource_kind: string | null;
  resource_name: string | null;
  resource_action: string | null;
  decision: string | null;
  reasons: string[];
  status: number;
  outcome: string;
  input_tokens: number;
  output_tokens: number;
  cost_micro_usd: number;
  latency_us: number;
}

interface VerifyResult {
  ok: boolean;
  rows: number;
  chains: Array<{ chainId: string; rows: number; lastSeq: number; head: string; problem?: { kind: string; seq: number; requestId?: string; message: string } }>;
}

export async function runAuditCommand(args: string[], io: CommandIo = processIo()): Promise<number> {
  return runAdminCommand("audit", usage, io, async () => {
    const subcommands = {
      search: (rest: string[]) => search(rest, io),
      tail: (rest: string[]) => tail(rest, io),
      export: (rest: string[]) => exportRows(rest, io),
      verify: (rest: string[]) => verify(rest, io),
    };
    return runSubcommand(args, subcommands, usage, io);
  });
}

type FilterValues = Partial<Record<keyof typeof filterOptions, string>>;

function filterQuery(values: FilterValues): Record<string, string | undefined> {
  return {
    agent: values.agent,
    team: values.team,
    model: values.model,
    decision: values.decision,
    kind: values.kind,
    outcome: values.outcome,
    protocol: values.protocol,
    request_id: values["request-id"],
    since: values.since,
    from: values.from,
    to: values.to,
  };
}

async function search(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { ...connectionOptions, ...filterOptions, limit: { type: "string", default: "50" }, cursor: { type: "string" }, format: { type: "string", default: "table" } } });
  if (!["table", "json", "ndjson"].includes(values.format)) throw new UsageError("--format must be table, json or ndjson");
  const client = new AdminClient(resolveConnection(values, io.cwd, io.env));
  try {
    const page = await client.json<{ rows: AuditEvent[]; next?: string }>("GET", "/admin/v1/audit/events", { ...filterQuery(values), limit: values.limit, cursor: values.cursor });
    if (values.format === "json") io.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
    else if (values.format === "ndjson") for (const row of page.rows) io.stdout.write(`${JSON.stringify(row)}\n`);
    else {
      io.stdout.write(eventTable(page.rows));
      if (page.next !== undefined) io.stderr.write(`more: --cursor ${page.next}\n`);
    }
    return 0;
  } finally {
    await client.close();
  }
}

async function tail(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: { ...connectionOptions, ...filterOptions, lines: { type: "string", short: "n", default: "20" }, follow: { type: "boolean", short: "f" }, interval: { type: "string", default: "1s" } },
  });
  const intervalMs = /^(\d+)(ms|s)$/.exec(values.interval);
  if (intervalMs === null) throw new UsageError("--interval takes milliseconds or seconds, e.g. 500ms or 2s");
  const pollMs = Number(intervalMs[1]) * (intervalMs[2] === "s" ? 1000 : 1);
  const client = new AdminClient(resolveConnection(values, io.cwd, io.env));
  try {
    const filters = filterQuery(values);
    const last = await client.json<{ rows: AuditEvent[] }>("GET", "/admin/v1/audit/events", { ...filters, limit: values.lines });
    const shown = [...last.rows].reverse();
    io.stdout.write(eventTable(shown));
    if (!values.follow) return 0;
    // Rows reach the database in batches, so a late one can carry an earlier time than one already
    // shown: each poll looks back a little further and skips what it printed.
    const printed = new Set(shown.map((row) => row.request_id));
    let since = shown.at(-1)?.occurred_at ?? new Date().toISOString();
    let stop = false;
    void io.interrupted?.then(() => {
      stop = true;
    });
    while (!stop) {
      await Promise.race([new Promise((resolve) => setTimeout(resolve, pollMs)), io.interrupted]);
      if (stop) break;
      const from = new Date(Date.parse(since) - 30_000).toISOString();
      const page = await client.json<{ rows: AuditEvent[] }>("GET", "/admin/v1/audit/events", { ...filters, since: undefined, from, order: "asc", limit: 1000 });
      const fresh = page.rows.filter((row) => !printed.has(row.request_id));
      if (fresh.length > 0) io.stdout.write(eventTable(fresh, false));
      for (const row of fresh) printed.add(row.request_id);
      if (printed.size > 100_000) printed.clear();
      since = page.rows.at(-1)?.occurred_at ?? since;
    }
    return 0;
  } finally {
    await client.close();
  }
}

async function exportRows(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { ...connectionOptions, ...filterOptions } });
  const client = new AdminClient(resolveConnection(values, io.cwd, io.env));
  try {
    const body = await client.stream("/admin/v1/audit/export", filterQuery(values));
    for await (const chunk of body) io.stdout.write(chunk as Buffer);
    return 0;
  } finally {
    await client.close();
  }
}

async function verify(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { ...connectionOptions, chain: { type: "string" }, format: { type: "string", default: "text" } } });
  const client = new AdminClient(resolveConnection(values, io.cwd, io.env));
  try {
    const result = await client.json<VerifyResult>("POST", "/admin/v1/audit/verify", { chain: values.chain });
    if (values.format === "json") {
      io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return result.ok ? 0 : 1;
    }
    for (const chain of result.chains) {
      if (chain.problem === undefined) io.stdout.write(`ok      ${chain.chainId}: ${chain.rows} rows, head ${chain.head}\n`);
      else io.stdout.write(`FAILED  ${chain.chainId}: ${chain.problem.kind} at seq ${chain.problem.seq}: ${chain.problem.message}\n`);
    }
    io.stdout.write(result.ok ? `audit trail intact: ${result.rows} rows in ${result.chains.length} chains\n` : "audit trail TAMPERED WITH: see the chains marked FAILED\n");
    return result.ok ? 0 : 1;
  } finally {
    await client.close();
  }
}

function eventTable(rows: readonly AuditEvent[], header = true): string {
  const cells = rows.map((row) => [
    row.occurred_at,
    row.caller ?? "(unauthenticated)",
    row.resource_kind === null ? "-" : `${row.resource_kind}:${row.resource_name ?? ""} ${row.resource_action ?? ""}`.trim(),
    row.decision ?? "-",
    String(row.status),
    row.outcome,
    `${row.input_tokens}/${row.output_tokens}`,
    `$${microsToUsd(row.cost_micro_usd)}`,
    row.request_id,
  ]);
  const table = textTable(["time", "caller", "resource", "decision", "status", "outcome", "tokens in/out", "cost", "request id"], cells);
  return header ? table : table.slice(table.indexOf("\n") + 1);
}
