import type { SpendLine } from "../audit/spend-report.ts";
import { parseArgs } from "node:util";
import { microsToUsd } from "../protocols/admin/spend-csv.ts";
import { AdminClient, connectionHelp, connectionOptions, resolveConnection } from "./admin-client.ts";
import { runAdminCommand } from "./admin-command-errors.ts";
import { type CommandIo, processIo, UsageError } from "./command-io.ts";
import { textTable } from "./text-table.ts";

const usage = `Usage: tollgate spend [--by agent|team|model|provider|day] [--since 7d | --from DATE [--to DATE]]
                      [--top N] [--agent ID] [--team NAME] [--model NAME] [--provider NAME]
                      [--format table|csv|json]

Spend over a time range, grouped by one dimension, from the admin API. Costs are in USD, priced when
each request was made. --since takes a duration back from now (30m, 24h, 7d; default 7d); --from and
--to take ISO 8601 dates or times (UTC). --top N keeps the N highest spenders.

${connectionHelp}`;


export async function runSpendCommand(args: string[], io: CommandIo = processIo()): Promise<number> {
  return runAdminCommand("spend", usage, io, async () => {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        ...connectionOptions,
        by: { type: "string", default: "agent" },
        since: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        top: { type: "string" },
        agent: { type: "string" },
        team: { type: "string" },
        model: { type: "string" },
        provider: { type: "string" },
        format: { type: "string", default: "table" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      io.stdout.write(usage);
      return 0;
    }
    if (!["table", "csv", "json"].includes(values.format)) throw new UsageError("--format must be table, csv or json");
    if (values.top !== undefined && !/^\d+$/.test(values.top)) throw new UsageError("--top takes a number");
    const since = values.since ?? (values.from === undefined ? "7d" : undefined);
    const query = { by: values.by, since, from: values.from, to: values.to, agent: values.agent, team: values.team, model: values.model, provider: values.provider };
    const client = new AdminClient(resolveConnection(values, io.cwd, io.env));
    try {
      if (values.format === "csv" && values.top === undefined) {
        io.stdout.write(await client.text("/admin/v1/spend", { ...query, format: "csv" }));
        return 0;
      }
      const report = await client.json<{ by: string; from: string; to: string; lines: SpendLine[]; total: Omit<SpendLine, "key"> }>(
        "GET",
        values.top === undefined ? "/admin/v1/spend" : "/admin/v1/spend/top",
        { ...query, ...(values.top === undefined ? {} : { limit: values.top }) },
      );
      if (values.format === "json") {
        io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return 0;
      }
      if (values.format === "csv") {
        io.stdout.write(`${report.by},requests,denied,errors,input_tokens,output_tokens,cost_usd\n`);
        for (const l of report.lines) io.stdout.write(`${JSON.stringify(l.key)},${l.requests},${l.denied},${l.errors},${l.input_tokens},${l.output_tokens},${microsToUsd(l.cost_micro_usd)}\n`);
        return 0;
      }
      io.stdout.write(`Spend by ${report.by}, ${report.from} to ${report.to}\n\n`);
      const rows = report.lines.map((l) => [l.key === "" ? "(none)" : l.key, l.requests, l.denied, l.errors, l.input_tokens, l.output_tokens, `$${usd(l.cost_micro_usd)}`]);
      rows.push(["total", report.total.requests, report.total.denied, report.total.errors, report.total.input_tokens, report.total.output_tokens, `$${usd(report.total.cost_micro_usd)}`]);
      io.stdout.write(textTable([report.by, "requests", "denied", "errors", "input tokens", "output tokens", "cost"], rows));
      return 0;
    } finally {
      await client.close();
    }
  });
}

/** Dollars to the micro-dollar, as recorded. */
function usd(micros: number): string {
  return microsToUsd(micros);
}
