import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface EmbeddedPostgres {
  /** postgresql://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * PGlite (PostgreSQL compiled to WebAssembly) with its files under `dir`, served over the PostgreSQL
 * wire protocol on a loopback port, so the embedded default runs exactly the code (pg, the same SQL,
 * the same migrations) that runs against a PostgreSQL server.
 *
 * PGlite is one PostgreSQL session: statements from different connections interleave in it. The
 * gateway therefore connects to it with a single connection (see database.ts), and writes every
 * batch as one statement.
 */
export async function startEmbeddedPostgres(dir: string): Promise<EmbeddedPostgres> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const db = await PGlite.create({ dataDir: dir });
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 4 });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  return {
    url: `postgresql://postgres@${server.getServerConn()}/postgres`,
    close: async () => {
      await server.stop();
      await db.close();
    },
  };
}
