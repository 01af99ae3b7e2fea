import { existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { text } from "node:stream/consumers";
import type { Readable, Writable } from "node:stream";
import { parseArgs } from "node:util";
import { buildWasmBundle, PolicyBuildError } from "../policy/bundle-builder.ts";
import { PolicyBundleError, readBundleFile } from "../policy/bundle-reader.ts";
import { PolicyEngine, PolicyLoadError } from "../policy/engine.ts";
import { PolicyInputError, readPolicyInput } from "../policy/input-reader.ts";
import { policyNow } from "../policy/input.ts";
import { OpaUnavailableError, runOpa } from "../policy/opa-command.ts";
import { runSubcommand, UsageError } from "./command-io.ts";

export interface PolicyCommandIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  cwd: string;
}

const usage = `Usage:
  tollgate policy test  [DIR]                           run the policy tests (opa test -v); DIR defaults to ./policies
  tollgate policy build [DIR] [--out FILE]              build the wasm bundle the gateway loads; FILE defaults to
                                                        ./.data/policy/bundle.tar.gz
  tollgate policy eval  --input FILE [DIR | --bundle FILE]
                                                        print the decision for one policy input (JSON; "-" reads
                                                        stdin), evaluated by the gateway's own wasm engine

Set TOLLGATE_OPA to an opa binary to use it instead of the one pinned in tools/go.mod.
`;


/** `tollgate policy ...`; resolves with the process exit code. */
export async function runPolicyCommand(args: string[], io: PolicyCommandIo = processIo()): Promise<number> {
  try {
    const subcommands = {
      test: (rest: string[]) => testCommand(rest, io),
      build: (rest: string[]) => buildCommand(rest, io),
      eval: (rest: string[]) => evalCommand(rest, io),
    };
    return await runSubcommand(args, subcommands, usage, io);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.stderr.write(`tollgate policy: ${(error as Error).message}\n\n${usage}`);
      return 2;
    }
    if (error instanceof PolicyInputError) {
      io.stderr.write(`tollgate policy: the input is not a policy input: ${error.message}\n`);
      return 2;
    }
    if (
      error instanceof PolicyBuildError ||
      error instanceof PolicyBundleError ||
      error instanceof PolicyLoadError ||
      error instanceof OpaUnavailableError
    ) {
      io.stderr.write(`tollgate policy: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

async function testCommand(args: string[], io: PolicyCommandIo): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: {} });
  const dir = policyDir(positionals, io);
  const result = await runOpa(["test", "-v", dir], { forward: { stdout: io.stdout, stderr: io.stderr }, notice: notice(io) });
  return result.exitCode;
}

async function buildCommand(args: string[], io: PolicyCommandIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { out: { type: "string", short: "o" } },
  });
  const dir = policyDir(positionals, io);
  const out = resolve(io.cwd, values.out ?? ".data/policy/bundle.tar.gz");
  await mkdir(dirname(out), { recursive: true });
  await buildWasmBundle(dir, out, { notice: notice(io) });
  // Load what was built, so that a bundle the gateway would refuse fails here and not at deploy time.
  const bundle = await readBundleFile(out);
  await new PolicyEngine().load(bundle);
  io.stdout.write(`built ${out} (revision ${bundle.revision})\n`);
  return 0;
}

async function evalCommand(args: string[], io: PolicyCommandIo): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { input: { type: "string", short: "i" }, bundle: { type: "string", short: "b" } },
  });
  if (values.input === undefined) throw new UsageError("eval needs --input FILE");
  if (values.bundle !== undefined && positionals.length > 0) throw new UsageError("give either a policy directory or --bundle, not both");
  const input = readPolicyInput(withNow(await readJson(values.input, io)));

  const engine = new PolicyEngine();
  if (values.bundle !== undefined) {
    await engine.load(await readBundleFile(resolve(io.cwd, values.bundle)));
  } else {
    const dir = policyDir(positionals, io);
    const workDir = await mkdtemp(join(tmpdir(), "tollgate-policy-eval-"));
    try {
      const out = join(workDir, "bundle.tar.gz");
      await buildWasmBundle(dir, out, { notice: notice(io) });
      await engine.load(await readBundleFile(out));
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
  io.stdout.write(`${JSON.stringify(engine.evaluate(input), null, 2)}\n`);
  return 0;
}

function policyDir(positionals: string[], io: PolicyCommandIo): string {
  if (positionals.length > 1) throw new UsageError(`one policy directory at most, got ${positionals.length}`);
  const dir = resolve(io.cwd, positionals[0] ?? "policies");
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`no policy directory at ${dir}`);
  return dir;
}

async function readJson(file: string, io: PolicyCommandIo): Promise<unknown> {
  let source: string;
  try {
    source = file === "-" ? await text(io.stdin) : await readFile(resolve(io.cwd, file), "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return JSON.parse(source);
  } catch (error) {
    throw new UsageError(`${file} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** An input written by hand may leave out `now`; the gateway always sends it. */
function withNow(raw: unknown): unknown {
  if (typeof raw === "object" && raw !== null && !Array.isArray(raw) && !("now" in raw)) return { ...raw, now: policyNow(Date.now()) };
  return raw;
}

function notice(io: PolicyCommandIo): (message: string) => void {
  return (message) => io.stderr.write(`${message}\n`);
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

function processIo(): PolicyCommandIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd() };
}
