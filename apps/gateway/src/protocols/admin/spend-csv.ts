import type { SpendReport } from "../../audit/spend-report.ts";

const header = ["key", "requests", "denied", "errors", "input_tokens", "output_tokens", "cached_input_tokens", "cost_micro_usd", "cost_usd"];

/** A spend report as CSV (RFC 4180): one line per key, money in micro-dollars and in dollars. */
export function spendCsv(report: SpendReport): string {
  const lines = [[report.by, ...header.slice(1)].join(",")];
  for (const line of report.lines) {
    lines.push(
      [
        csvField(line.key),
        line.requests,
        line.denied,
        line.errors,
        line.input_tokens,
        line.output_tokens,
        line.cached_input_tokens,
        line.cost_micro_usd,
        microsToUsd(line.cost_micro_usd),
      ].join(","),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** Integer micro-dollars as a decimal USD amount with six places, without going through a float. */
export function microsToUsd(micros: number): string {
  const sign = micros < 0 ? "-" : "";
  const abs = BigInt(Math.abs(micros));
  return `${sign}${abs / 1_000_000n}.${(abs % 1_000_000n).toString().padStart(6, "0")}`;
}

function csvField(value: string): string {
  // A leading =, +, - or @ would be a formula to a spreadsheet: quote it, and escape quotes.
  const guarded = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n']/.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}
