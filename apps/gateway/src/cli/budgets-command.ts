import { parseArgs } from "node:util";
import type { BudgetCounterStatus, BudgetDefinition, BudgetLimitValues } from "../budget/budget-admin.ts";
import { microsToUsd } from "../protocols/admin/spend-csv.ts";
import { AdminClient, connectionHelp, connectionOptions, resolveConnection } from "./admin-client.ts";
import { runAdminCommand } from "./admin-command-errors.ts";
import { type CommandIo, processIo, runSubcommand, UsageError } from "./command-io.ts";
import { textTable } from "./text-table.ts";

const usage = `Usage:
  tollgate budgets list [--budget NAME] [--subject SPIFFE_ID] [--format table|json]
                                       budgets, their limits, and what the current windows have used
  tollgate budgets set NAME [--cost-usd 500.00] [--requests N] [--input-tokens N] [--output-tokens N]
                            [--total-tokens N] [--requests-per-minute N] [--tokens-per-minute N]
                                       replace a budget's limits at run time (every replica, at once)
  tollgate budgets reset NAME          drop the run-time change: the configured limits apply again

${connectionHelp}`;

export async function runBudgetsCommand(args: string[], io: CommandIo = processIo()): Promise<number> {
  return runAdminCommand("budgets", usage, io, async () => {
    const subcommands = {
      list: (rest: string[]) => list(rest, io),
      set: (rest: string[]) => set(rest, io),
      reset: (rest: string[]) => reset(rest, io),
    };
    return runSubcommand(args, subcommands, usage, io);
  });
}

async function list(args: string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({ args, strict: true, options: { ...connectionOptions, budget: { type: "string" }, subject: { type: "string" }, format: { type: "string", default: "table" } } });
  const client = new AdminClient(resolveConnection(values, io.cwd, io.env));
  try {
    const answer = await client.json<{ definitions: BudgetDefinition[]; status: BudgetCounterStatus[] }>("GET", "/admin/v1/budgets", { budget: values.budget, subject: values.subject });
    if (values.format === "json") {
      io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      return 0;
    }
    if (answer.definitions.length === 0) {
      io.stdout.write("no budgets are configured (budgets.limits)\n");
      return 0;
    }
    io.stdout.write(
      textTable(
        ["budget", "split", "window", "limits", "source"],
        answer.definitions.map((d) => [d.name, d.split, d.window ?? "-", limitsText(d.limits), d.source]),
      ),
    );
    if (answer.status.length > 0) {
      io.stdout.write("\n");
      io.stdout.write(
        textTable(
          ["budget", "subject", "window", "used requests", "used tokens", "used cost", "reserved cost", "resets at"],
          answer.status.map((s) => [s.budget, s.subject, s.window, s.used.requests, s.used.totalTokens, `$${microsToUsd(s.used.costMicroUsd)}`, `$${microsToUsd(s.reserved.costMicroUsd)}`, s.resetsAt]),
        ),
      );
    }
    return 0;
  } finally {
    await client.close();
  }
}

async function set(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      "cost-usd": { type: "string" },
      requests: { type: "string" },
      "input-tokens": { type: "string" },
      "output-tokens": { type: "string" },
      "total-tokens": { type: "string" },
      "requests-per-minute": { type: "string" },
      "tokens-per-minute": { type: "string" },
    },
  });
  const name = onlyName(positionals);
  const body: Record<string, string | number> = {};
  if (values["cost-usd"] !== undefined) body.cost_usd = values["cost-usd"];
  for (const [option, field] of [
    ["requests", "requests"],
    ["input-tokens", "input_tokens"],
    ["output-tokens", "output_tokens"],
    ["total-tokens", "total_tokens"],
    ["requests-per-minute", "requests_per_minute"],
    ["tokens-per-minute", "tokens_per_minute"],
  ] as const) {
    const value = values[option];
    if (value === undefined) continue;
    if (!/^\d+$/.test(value)) throw new UsageError(`--${option} takes a whole number`);
    body[field] = Number(value);
  }
  if (Object.keys(body).length === 0) throw new UsageError("give at least one limit, e.g. --cost-usd 500.00 or --requests 1000");
  const client = new AdminClient(resolveConnection(values, io.cwd, io.env));
  try {
    const definition = await client.json<BudgetDefinition>("PUT", `/admin/v1/budgets/${encodeURIComponent(name)}`, {}, body);
    io.stdout.write(`${definition.name}: ${limitsText(definition.limits)} (${definition.source})\n`);
    return 0;
  } finally {
    await client.close();
  }
}

async function reset(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { ...connectionOptions } });
  const name = onlyName(positionals);
  const client = new AdminClient(resolveConnection(values, io.cwd, io.env));
  try {
    const definition = await client.json<BudgetDefinition>("DELETE", `/admin/v1/budgets/${encodeURIComponent(name)}`);
    io.stdout.write(`${definition.name}: ${limitsText(definition.limits)} (${definition.source})\n`);
    return 0;
  } finally {
    await client.close();
  }
}

function onlyName(positionals: string[]): string {
  if (positionals.length !== 1 || positionals[0] === undefined) throw new UsageError("name exactly one budget");
  return positionals[0];
}

function limitsText(limits: BudgetLimitValues): string {
  const parts: string[] = [];
  if (limits.costMicroUsd !== undefined) parts.push(`cost $${microsToUsd(limits.costMicroUsd)}`);
  if (limits.requests !== undefined) parts.push(`requests ${limits.requests}`);
  if (limits.inputTokens !== undefined) parts.push(`input ${limits.inputTokens}`);
  if (limits.outputTokens !== undefined) parts.push(`output ${limits.outputTokens}`);
  if (limits.totalTokens !== undefined) parts.push(`tokens ${limits.totalTokens}`);
  if (limits.requestsPerMinute !== undefined) parts.push(`rpm ${limits.requestsPerMinute}`);
  if (limits.tokensPerMinute !== undefined) parts.push(`tpm ${limits.tokensPerMinute}`);
  return parts.join(", ") || "(none)";
}
