import { once } from "node:events";
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../json-rpc.ts";
import { StdioChild } from "./stdio-child.ts";

/** A child running a Node.js script, with what it writes to stderr collected. */
function node(script: string, env: Record<string, string> = {}, maxLine = 1024): { child: StdioChild; stderr: string[] } {
  const stderr: string[] = [];
  const child = new StdioChild({ command: process.execPath, args: ["-e", script], env, cwd: undefined }, maxLine, (line) => stderr.push(line));
  return { child, stderr };
}

describe("StdioChild", () => {
  it("reads one JSON-RPC message per line, and reports what is not one", async () => {
    const { child, stderr } = node(`
      process.stdout.write('{"jsonrpc":"2.0","method":"a"}\\nnot json\\n[1,2]\\n{"jsonrpc":"2.0",');
      process.stdout.write('"method":"b"}\\n');
      console.error("a log line");
    `);
    const messages: JsonObject[] = [];
    child.on("message", (message) => messages.push(message));
    const exit = await child.exited;
    expect(exit).toEqual({ code: 0, signal: null, error: undefined });
    expect(messages.map((m) => m.method)).toEqual(["a", "b"]);
    expect(stderr.some((line) => line.includes("something other than JSON-RPC"))).toBe(true);
    expect(stderr.some((line) => line.includes("not a JSON-RPC message"))).toBe(true);
    expect(stderr).toContain("a log line");
  });

  it("gives the process none of the gateway's environment but PATH and the like", async () => {
    process.env.TOLLGATE_TEST_SECRET = "sk-must-not-leak";
    try {
      const { child } = node(`process.stdout.write(JSON.stringify({ jsonrpc: "2.0", method: "env", params: process.env }) + "\\n")`, { GIVEN: "yes" });
      const [message] = (await once(child, "message")) as [JsonObject];
      const env = message.params as Record<string, string>;
      expect(env.TOLLGATE_TEST_SECRET).toBeUndefined();
      expect(env.GIVEN).toBe("yes");
      expect(env.PATH).toBe(process.env.PATH);
      await child.exited;
    } finally {
      delete process.env.TOLLGATE_TEST_SECRET;
    }
  });

  it("stops a process that writes an endless line, instead of buffering it", async () => {
    const { child, stderr } = node(`process.stdout.write("x".repeat(100000)); setInterval(() => {}, 1000);`, {}, 1024);
    const exit = await child.exited;
    expect(exit.signal).toBe("SIGTERM");
    expect(stderr.some((line) => line.includes("longer than 1024 bytes"))).toBe(true);
  });

  it("writes messages to stdin and stops the process, killing it if it ignores SIGTERM", async () => {
    const { child } = node(`
      process.on("SIGTERM", () => {});
      setInterval(() => {}, 1000);
      process.stdin.on("data", (chunk) => process.stdout.write(chunk));
    `);
    const echoed = once(child, "message");
    expect(child.send({ jsonrpc: "2.0", method: "ping-back" })).toBe(true);
    expect(((await echoed) as [JsonObject])[0].method).toBe("ping-back");
    const exit = await child.stop();
    expect(exit.signal).toBe("SIGKILL");
    expect(child.send({ jsonrpc: "2.0", method: "late" })).toBe(false);
  });

  it("reports a command that cannot start as an exit with its error", async () => {
    const child = new StdioChild({ command: "/nonexistent/server", args: [], env: {}, cwd: undefined }, 1024, () => {});
    const exit = await child.exited;
    expect((exit.error as NodeJS.ErrnoException).code).toBe("ENOENT");
  });
});
