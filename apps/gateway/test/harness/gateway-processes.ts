/**
 * Child processes for benchmarks: each server runs in its own process, as it would in production,
 * so the load generator, the gateway and the upstream do not share an event loop.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

export const repoRoot = join(import.meta.dirname, "..", "..", "..", "..");
const tollgateBin = join(repoRoot, "apps", "gateway", "bin", "tollgate.mjs");

/** A port that was free a moment ago (the kernel will not hand it out again right away). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export interface Child {
  process: ChildProcess;
  stop(): Promise<void>;
}

function child(process: ChildProcess): Child {
  return {
    process,
    stop: async () => {
      if (process.exitCode !== null) return;
      process.kill("SIGTERM");
      await once(process, "exit");
    },
  };
}

/** Starts the demo provider in its own process; resolves with its origin. */
export async function startUpstreamProcess(apiKey: string): Promise<Child & { url: string }> {
  const proc = spawn(process.execPath, [join(import.meta.dirname, "upstream-main.ts"), apiKey], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: proc.stdout! });
  for await (const line of lines) {
    const message = JSON.parse(line) as { url?: string };
    if (message.url !== undefined) {
      lines.close();
      return { ...child(proc), url: message.url };
    }
  }
  throw new Error("the upstream process exited before it listened");
}

/** Starts `tollgate serve --config FILE`; resolves when its readiness probe answers 200. */
export async function startGatewayProcess(configFile: string, healthUrl: string, cwd: string): Promise<Child> {
  const proc = spawn(process.execPath, [tollgateBin, "serve", "--config", configFile], { cwd, stdio: ["ignore", "ignore", "inherit"] });
  const started = child(proc);
  const exited = once(proc, "exit").then(() => {
    throw new Error("the gateway exited during start");
  });
  for (let attempt = 0; attempt < 600; attempt++) {
    const ready = await Promise.race([probe(`${healthUrl}/readyz`), exited]);
    if (ready) return started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await started.stop();
  throw new Error("the gateway did not become ready within a minute");
}

async function probe(url: string): Promise<boolean> {
  try {
    return (await fetch(url)).status === 200;
  } catch {
    return false;
  }
}

/**
 * CPU time (user + system) a process has used so far, in milliseconds, from /proc (Linux). Less noisy
 * than latency on a shared machine: it is what the gateway costs, whatever else runs.
 */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10; // USER_HZ is 100 on Linux
}
