/**
 * A fresh database on the machine's PostgreSQL (127.0.0.1:5432, trust auth) for one test file, dropped
 * afterwards: tests never share tables with each other or with anyone else's work.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const sharedPostgresUrl = process.env.TOLLGATE_TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface ScratchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createScratchDatabase(prefix = "tollgate_test"): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: sharedPostgresUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(sharedPostgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const client = new pg.Client({ connectionString: sharedPostgresUrl });
      await client.connect();
      try {
        // Pools just ended may still be closing their connections; a forced drop would terminate them
        // under their feet (an error event nobody listens to any more). Wait for them to go first.
        for (let i = 0; i < 250; i++) {
          const open = (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`, [name])).rows[0]?.n ?? 0;
          if (open === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
