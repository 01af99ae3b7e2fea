import { AdminApiError, AdminConnectionError } from "./admin-client.ts";
import { type CommandIo, UsageError } from "./command-io.ts";

/** Runs an admin command and turns its expected failures into a message and an exit code. */
export async function runAdminCommand(name: string, usage: string, io: CommandIo, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.stderr.write(`tollgate ${name}: ${(error as Error).message}\n\n${usage}`);
      return 2;
    }
    if (error instanceof AdminApiError) {
      io.stderr.write(`tollgate ${name}: ${error.message}${error.code === undefined ? "" : ` (${error.code}, HTTP ${error.status})`}\n`);
      return 1;
    }
    if (error instanceof AdminConnectionError) {
      io.stderr.write(`tollgate ${name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function isParseArgsError(error: unknown): boolean {
  const code: unknown = error instanceof TypeError ? (error as unknown as { code?: unknown }).code : undefined;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}
