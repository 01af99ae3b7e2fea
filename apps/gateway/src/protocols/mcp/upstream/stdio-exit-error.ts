import { TollgateError } from "../../../errors/tollgate-error.ts";
import type { ChildExit } from "./stdio-child.ts";

/** The error every request still waiting gets when a stdio server's process ends (or never started). */
export function stdioExitError(server: string, exit: ChildExit): TollgateError {
  if (exit.error !== undefined) {
    const code = (exit.error as NodeJS.ErrnoException).code;
    return new TollgateError("TG_ERR_UPSTREAM_FAILED", `The MCP server "${server}" could not be started (${code ?? exit.error.message}).`, {
      reason: "mcp.stdio_spawn_failed",
      cause: exit.error,
    });
  }
  const how = exit.signal !== null ? `was ended by ${exit.signal}` : `exited with code ${exit.code ?? "unknown"}`;
  return new TollgateError("TG_ERR_UPSTREAM_FAILED", `The MCP server "${server}" stopped before answering: its process ${how}.`, {
    reason: "mcp.stdio_exited",
  });
}
