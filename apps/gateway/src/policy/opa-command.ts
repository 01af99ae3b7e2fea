import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Writable } from "node:stream";

/**
 * How Tollgate runs the real `opa` (to build bundles and run policy tests).
 *
 * `TOLLGATE_OPA`, when set, is the path of an opa binary. Otherwise opa comes from the repository's
 * Go tools module (`tools/go.mod` pins it), through `go tool`. Nothing is downloaded at run time:
 * on a fresh machine Go compiles OPA from the module cache once, which takes minutes, and caches it.
 * `go tool -n opa` prints where that cached binary is; it is asked once per process and then run
 * directly, which spares the ~1 s that `go tool` spends on every call.
 */

/** The repository's Go tools module, found relative to this file (apps/gateway/src/policy/). */
export const toolsDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../tools");

export interface OpaRunOptions {
  /** Where the notice goes that OPA is being compiled (given once, if that takes a while); stderr by default. */
  notice?: (message: string) => void;
  /** Streams opa's output as it comes, besides collecting it. */
  forward?: { stdout?: Writable; stderr?: Writable };
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface OpaRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** opa could not be started at all (as opposed to opa running and failing). */
export class OpaUnavailableError extends Error {
  override readonly name = "OpaUnavailableError";
}

interface OpaBinary {
  command: string;
  prefixArgs: readonly string[];
  /** Whether it came from the Go build cache, which may be trimmed under a running process. */
  cached: boolean;
}

let resolvedBinary: Promise<OpaBinary> | undefined;
let noticeGiven = false;
const compileNoticeDelayMs = 1500;

/** Runs opa with `args`; resolves with its exit code and output, whatever the code. */
export async function runOpa(args: readonly string[], options: OpaRunOptions = {}): Promise<OpaRun> {
  const env = options.env ?? process.env;
  const binary = await opaBinary(env, options.notice);
  try {
    return await run(binary.command, [...binary.prefixArgs, ...args], options);
  } catch (error) {
    // `go clean -cache` (or the cache's own trimming) may have removed the binary since it was
    // resolved: resolve it again, once.
    if (binary.cached && isMissingCommand(error)) {
      resolvedBinary = undefined;
      const again = await opaBinary(env, options.notice);
      return run(again.command, [...again.prefixArgs, ...args], options);
    }
    throw unavailable(binary.command, error, env);
  }
}

async function opaBinary(env: NodeJS.ProcessEnv, notice: ((message: string) => void) | undefined): Promise<OpaBinary> {
  const configured = env.TOLLGATE_OPA;
  if (configured !== undefined && configured !== "") return { command: configured, prefixArgs: [], cached: false };
  resolvedBinary ??= resolveFromGoTools(notice).catch((error: unknown) => {
    resolvedBinary = undefined;
    throw error;
  });
  return resolvedBinary;
}

async function resolveFromGoTools(notice: ((message: string) => void) | undefined): Promise<OpaBinary> {
  if (!existsSync(join(toolsDir, "go.mod"))) {
    throw new OpaUnavailableError(
      `cannot run opa: ${join(toolsDir, "go.mod")} is missing (this installation has no Go tools module); ` +
        "set TOLLGATE_OPA to the path of an opa 1.x binary",
    );
  }
  // `go tool -n` answers at once when OPA is already in Go's build cache; only a slow answer means
  // it is compiling, and only then is the wait worth explaining.
  const slow = setTimeout(() => {
    if (noticeGiven) return;
    noticeGiven = true;
    (notice ?? ((message: string) => process.stderr.write(`${message}\n`)))(
      `tollgate: compiling OPA with \`go tool\` (pinned in ${join(toolsDir, "go.mod")}); the first run on a machine ` +
        "takes a few minutes, later runs use Go's build cache. Set TOLLGATE_OPA to an opa binary to skip this.",
    );
  }, compileNoticeDelayMs);
  slow.unref();
  let located: OpaRun;
  try {
    located = await run("go", ["-C", toolsDir, "tool", "-n", "opa"], {});
  } catch (error) {
    throw unavailable("go", error, process.env);
  } finally {
    clearTimeout(slow);
  }
  const command = located.stdout.trim();
  if (located.exitCode !== 0 || command === "" || command.includes("\n")) {
    throw new OpaUnavailableError(
      `cannot run opa: \`go -C ${toolsDir} tool -n opa\` failed (exit ${located.exitCode}): ${located.stderr.trim() || located.stdout.trim()}`,
    );
  }
  // Should a Go release print a path without building it first, `go tool opa` itself still works.
  if (!existsSync(command)) return { command: "go", prefixArgs: ["-C", toolsDir, "tool", "opa"], cached: false };
  return { command, prefixArgs: [], cached: true };
}

function run(command: string, args: readonly string[], options: OpaRunOptions): Promise<OpaRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => {
      stdout.push(chunk);
      options.forward?.stdout?.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr.push(chunk);
      options.forward?.stderr?.write(chunk);
    });
    child.once("error", reject);
    child.once("close", (code, signal) => {
      resolvePromise({
        exitCode: code ?? (signal === null ? 1 : 128),
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      });
    });
  });
}

function isMissingCommand(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "EACCES";
}

function unavailable(command: string, error: unknown, env: NodeJS.ProcessEnv): OpaUnavailableError {
  const why = error instanceof Error ? error.message : String(error);
  if (env.TOLLGATE_OPA !== undefined && env.TOLLGATE_OPA !== "" && command === env.TOLLGATE_OPA) {
    return new OpaUnavailableError(`cannot run opa: TOLLGATE_OPA=${command} could not be started (${why}); point it at an opa 1.x binary`);
  }
  if (command === "go") {
    return new OpaUnavailableError(
      `cannot run opa: \`go\` could not be started (${why}); install Go 1.26 or later (it builds the OPA pinned in tools/go.mod) ` +
        "or set TOLLGATE_OPA to the path of an opa 1.x binary",
    );
  }
  return new OpaUnavailableError(`cannot run opa: ${command} could not be started (${why})`);
}
