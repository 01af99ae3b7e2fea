/**
 * The `tollgate` command. Each subcommand lives in its own file and returns an exit code; this file
 * only dispatches, so a new subcommand is one line here.
 */
import { runAuditCommand } from "./audit-command.ts";
import { runBudgetsCommand } from "./budgets-command.ts";
import { runConfigCommand } from "./config-command.ts";
import { runDevCaCommand } from "./dev-ca-command.ts";
import { runPolicyCommand } from "./policy-command.ts";
import { runMigrateCommand } from "./migrate-command.ts";
import { runServeCommand } from "./serve-command.ts";
import { runSpendCommand } from "./spend-command.ts";

const usage = `Usage: tollgate <command> [options]

Commands:
  serve [--config FILE]                  start the gateway (embedded defaults without a config file)
  config check [--config FILE]           validate a configuration and print it resolved
  config schema | reference              print the configuration's JSON Schema or reference
  dev-ca issue <spiffe-id> [options]     issue an X.509-SVID from the development CA
  dev-ca init                            create the development CA
  policy test [DIR]                      run the policy tests with opa
  policy build [DIR] [--out FILE]        build the wasm policy bundle
  policy eval --input FILE               evaluate the policy on an input document
  migrate [--config FILE]                apply the audit database's migrations
  spend [--by agent|team|model|day]      spend over a time range, from the admin API
  audit search|tail|export|verify        the audit trail, from the admin API
  budgets list|set|reset                 budgets and their counters; change limits at run time

Run "tollgate <command> --help" for a command's options.
`;

const commands: Record<string, (args: string[]) => Promise<number>> = {
  serve: runServeCommand,
  config: runConfigCommand,
  "dev-ca": runDevCaCommand,
  policy: runPolicyCommand,
  migrate: runMigrateCommand,
  spend: runSpendCommand,
  audit: runAuditCommand,
  budgets: runBudgetsCommand,
};

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || name === "--help" || name === "-h" || name === "help") {
  process.stdout.write(usage);
  process.exitCode = name === undefined ? 2 : 0;
} else {
  const command = commands[name];
  if (command === undefined) {
    process.stderr.write(`tollgate: unknown command "${name}"\n\n${usage}`);
    process.exitCode = 2;
  } else {
    try {
      process.exitCode = await command(rest);
    } catch (error) {
      process.stderr.write(`tollgate ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  }
}
