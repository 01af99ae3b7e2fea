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
