import { parseArgs } from "node:util";
import { openAuditDatabase } from "../audit/database.ts";
import { applyMigrations, MigrationError, readMigrations } from "../audit/migrations.ts";
import { ConfigError } from "../config/config-error.ts";
import { loadConfig } from "../config/load.ts";
import { type CommandIo, processIo } from "./command-io.ts";

const usage = `Usage: tollgate migrate [--config FILE] [--database-url URL] [--migrations DIR]

Applies the audit database's pending migrations (prisma/migrations), under the advisory lock that
\`prisma migrate deploy\` also takes, and records them in _prisma_migrations as Prisma does. The gateway
does the same at start unless audit.migrate is false. Without --database-url, the database is the
configuration's audit.database; for the embedded PGlite, stop the gateway first (one process owns it).
`;

export async function runMigrateCommand(args: string[], io: CommandIo = processIo()): Promise<number> {
  let values: { config?: string | undefined; "database-url"?: string | undefined; migrations?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({ args, strict: true, options: { config: { type: "string", short: "c" }, "database-url": { type: "string" }, migrations: { type: "string" }, help: { type: "boolean", short: "h" } } }));
  } catch (error) {
    io.stderr.write(`tollgate migrate: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(usage);
    return 0;
  }
  let config;
  try {
    config = loadConfig({ file: values.config, cwd: io.cwd, env: io.env }).config;
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`tollgate migrate: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const databaseUrl = values["database-url"];
  const database = await openAuditDatabase({
    database: databaseUrl !== undefined ? { kind: "postgres", url: databaseUrl, connections: 1 } : config.audit.database,
    dataDir: config.data_dir,
    statementTimeoutMs: 600_000,
  });
  try {
    const result = await applyMigrations(database.pool, await readMigrations(values.migrations));
    for (const name of result.applied) io.stdout.write(`applied  ${name}\n`);
    io.stdout.write(`${database.location}: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied\n`);
    return 0;
  } catch (error) {
    if (error instanceof MigrationError) {
      io.stderr.write(`tollgate migrate: ${error.message}\n`);
      return 1;
    }
    io.stderr.write(`tollgate migrate: cannot migrate ${database.location}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await database.close();
  }
}
