import type { Writable } from "node:stream";

/** Where a command writes and what it runs in: the process's own, or a test's. */
export interface CommandIo {
  stdout: Writable;
  stderr: Writable;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Resolves when the user asks to stop (Ctrl-C); for commands that follow. */
  interrupted?: Promise<void>;
}

export function processIo(): CommandIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    env: process.env,
    interrupted: new Promise((resolve) => process.once("SIGINT", () => resolve())),
  };
}

/** A mistake in how a command was called: printed with its usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * Runs the subcommand `args[0]` names with the rest of the arguments: `help` (or -h, --help) prints the
 * usage; a missing or unknown subcommand is a UsageError naming the ones there are.
 */
export async function runSubcommand(
  args: readonly string[],
  subcommands: Readonly<Record<string, (rest: string[]) => Promise<number>>>,
  usage: string,
  io: Pick<CommandIo, "stdout">,
): Promise<number> {
  const [name, ...rest] = args;
  if (name === "help" || name === "--help" || name === "-h") {
    io.stdout.write(usage);
    return 0;
  }
  const names = Object.keys(subcommands);
  const known = names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : (names[0] ?? "");
  if (name === undefined) throw new UsageError(`a subcommand is needed: ${known}`);
  const run = subcommands[name];
  if (run === undefined) throw new UsageError(`unknown subcommand "${name}"`);
  return run(rest);
}
