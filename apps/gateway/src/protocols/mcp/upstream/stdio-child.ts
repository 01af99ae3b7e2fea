import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { isObject, type JsonObject } from "../json-rpc.ts";

export interface StdioCommand {
  command: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string | undefined;
}

/** How a process ended: its exit code, or the signal that ended it; `error` when it never started. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error: Error | undefined;
}

interface StdioChildEvents {
  message: [message: JsonObject];
  exit: [exit: ChildExit];
}

/** The variables a stdio server gets from the gateway's own environment: enough to run, never the gateway's secrets. */
const inheritedVariables = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT"];

/** How long after its exit a process's output may still be read before the exit is reported anyway. */
const outputDrainMs = 1_000;

/** How long a process has after SIGTERM (and its stdin closed) before it is killed. */
const stopGraceMs = 2_000;

export type StderrSink = (line: string) => void;

/**
 * One MCP server process speaking JSON-RPC over stdio: a message per line on stdin and stdout
 * (stdio transport). Lines are bounded (a server writing an endless line is stopped, not buffered
 * without limit); a line that is not a JSON object is a server bug and is reported on stderr's sink
 * rather than passed on. `exit` is emitted exactly once, whether the process exited, was killed, or
 * never started (a command that does not exist).
 */
export class StdioChild extends EventEmitter<StdioChildEvents> {
  readonly #process: ChildProcess;
  readonly #maxLine: number;
  readonly #stderr: StderrSink;
  #stdoutRest: Buffer[] = [];
  #stdoutRestSize = 0;
  #exit: ChildExit | undefined;
  readonly #exited: Promise<ChildExit>;

  constructor(command: StdioCommand, maxLine: number, stderr: StderrSink) {
    super();
    this.#maxLine = maxLine;
    this.#stderr = stderr;
    const env: Record<string, string> = {};
    for (const name of inheritedVariables) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    Object.assign(env, command.env);
    this.#process = spawn(command.command, [...command.args], {
      cwd: command.cwd,
      env,
      stdio: ["pipe", "pipe", "pipe"],
      // The child stays in the gateway's process group, so a signal to the group ends it too.
      detached: false,
      windowsHide: true,
    });
    this.#exited = new Promise((resolve) => {
      const finish = (exit: ChildExit) => {
        if (this.#exit !== undefined) return;
        this.#exit = exit;
        resolve(exit);
        this.emit("exit", exit);
      };
      this.#process.once("error", (error) => {
        // A process that never started emits "error" and no "exit".
        if (this.#process.pid === undefined) finish({ code: null, signal: null, error });
      });
      // "close" comes once the process has exited and its output has been read to the end, so a
      // response written just before exiting is delivered, not reported as lost. Should a process
      // the server started keep the output open, the exit is reported shortly after all the same.
      this.#process.once("close", (code: number | null, signal: NodeJS.Signals | null) => finish({ code, signal, error: undefined }));
      this.#process.once("exit", (code, signal) => {
        setTimeout(() => finish({ code, signal, error: undefined }), outputDrainMs).unref();
      });
    });
    this.#process.stdin?.on("error", () => {
      // EPIPE after the process exited: the exit event reports it.
    });
    this.#process.stdout?.on("data", (chunk: Buffer) => this.#readStdout(chunk));
    let stderrRest = "";
    this.#process.stderr?.on("data", (chunk: Buffer) => {
      const text = stderrRest + chunk.toString("utf8");
      const lines = text.split("\n");
      stderrRest = (lines.pop() ?? "").slice(-4096);
      for (const line of lines) if (line.trim() !== "") this.#stderr(line.slice(0, 4096));
    });
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  get exitStatus(): ChildExit | undefined {
    return this.#exit;
  }

  get exited(): Promise<ChildExit> {
    return this.#exited;
  }

  /** Writes one message as a line; returns false when the process is gone. */
  send(message: JsonObject): boolean {
    const stdin = this.#process.stdin;
    if (this.#exit !== undefined || stdin === null || stdin.destroyed) return false;
    stdin.write(`${JSON.stringify(message)}\n`);
    return true;
  }

  /** Closes stdin and asks the process to end; kills it if it has not after a grace period. */
  async stop(): Promise<ChildExit> {
    if (this.#exit !== undefined) return this.#exit;
    this.#process.stdin?.end();
    this.#process.kill("SIGTERM");
    const timer = setTimeout(() => this.#process.kill("SIGKILL"), stopGraceMs);
    timer.unref();
    const exit = await this.#exited;
    clearTimeout(timer);
    return exit;
  }

  #readStdout(chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, newline);
      start = newline + 1;
      const line = this.#stdoutRest.length === 0 ? piece : Buffer.concat([...this.#stdoutRest, piece]);
      this.#stdoutRest = [];
      this.#stdoutRestSize = 0;
      this.#readLine(line);
    }
    if (start < chunk.length) {
      this.#stdoutRest.push(chunk.subarray(start));
      this.#stdoutRestSize += chunk.length - start;
      if (this.#stdoutRestSize > this.#maxLine) {
        this.#stderr(`[tollgate] the server wrote a line longer than ${this.#maxLine} bytes to stdout; stopping it`);
        this.#stdoutRest = [];
        this.#stdoutRestSize = 0;
        void this.stop();
      }
    }
  }

  #readLine(line: Buffer): void {
    const text = line.toString("utf8").trim();
    if (text === "") return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.#stderr(`[tollgate] the server wrote something other than JSON-RPC to stdout: ${text.slice(0, 200)}`);
      return;
    }
    if (!isObject(message)) {
      this.#stderr("[tollgate] the server wrote a JSON value that is not a JSON-RPC message to stdout");
      return;
    }
    this.emit("message", message);
  }
}
