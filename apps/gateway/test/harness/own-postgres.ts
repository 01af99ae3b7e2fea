/**
 * A PostgreSQL server of the test's own, on a free loopback port, that the test may stop and start
 * again (the machine's shared server is never touched). Built with the machine's PostgreSQL 15
 * binaries; PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 */
import { execFile } from "node:child_process";
import { chownSync, existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const binDir = process.env.TOLLGATE_PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface OwnPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export function ownPostgresAvailable(): boolean {
  return existsSync(join(binDir, "initdb")) && existsSync(join(binDir, "pg_ctl"));
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-pg-"));
  const dataDir = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? await postgresIds() : undefined;
  if (ids !== undefined) chownSync(dir, ids.uid, ids.gid);
  const pgCommand = async (command: string, args: string[]) => {
    const options = { ...(ids === undefined ? {} : { uid: ids.uid, gid: ids.gid }), cwd: dir, env: { PATH: process.env.PATH ?? "", LANG: "C.UTF-8" } };
    return run(join(binDir, command), args, options);
  };
  await pgCommand("initdb", ["-D", dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  const ctl = (action: "start" | "stop") =>
    action === "start"
      ? pgCommand("pg_ctl", ["-D", dataDir, "-l", join(dir, "server.log"), "-w", "-t", "60", "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, "start"])
      : pgCommand("pg_ctl", ["-D", dataDir, "-w", "-t", "60", "-m", "fast", "stop"]);
  await ctl("start");
  let running = true;
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await ctl("stop");
      running = false;
    },
    start: async () => {
      await ctl("start");
      running = true;
    },
    destroy: async () => {
      if (running) await ctl("stop").catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
  const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
  return { uid, gid };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
