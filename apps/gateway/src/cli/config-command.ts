import { parseArgs } from "node:util";
import { ConfigError } from "../config/config-error.ts";
import { configJsonSchema } from "../config/json-schema.ts";
import { configReference } from "../config/config-reference.ts";
import { loadConfig } from "../config/load.ts";

const help = `Usage:
  tollgate config check [--config FILE]   validate a configuration (or the embedded defaults) and print it resolved
  tollgate config schema                  print the configuration's JSON Schema
  tollgate config reference               print the configuration reference (docs/configuration.md)
`;

/** Configuration keys whose values are secrets: never printed. */
const secretKeys = new Set(["api_key", "token", "session_keys"]);

export async function runConfigCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "schema") {
    process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    return 0;
  }
  if (sub === "reference") {
    process.stdout.write(configReference());
    return 0;
  }
  if (sub !== "check") {
    process.stderr.write(sub === undefined || sub === "--help" ? help : `tollgate config: unknown subcommand "${sub}"\n\n${help}`);
    return sub === "--help" ? 0 : 2;
  }
  let file: string | undefined;
  try {
    ({ values: { config: file } } = parseArgs({ args: rest, options: { config: { type: "string", short: "c" } } }));
  } catch (error) {
    process.stderr.write(`tollgate config check: ${(error as Error).message}\n`);
    return 2;
  }
  try {
    const loaded = loadConfig({ file });
    const redacted = JSON.stringify(loaded.config, (key, value: unknown) => (secretKeys.has(key) && value !== undefined ? "[set]" : value), 2);
    process.stdout.write(`# ${loaded.source}: valid\n${redacted}\n`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
