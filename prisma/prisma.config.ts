// Prisma's CLI configuration. Prisma 6.19 with the JavaScript engine and a driver adapter runs
// offline (Prisma 7's CLI downloads a native engine on every command, which fails where only the npm
// registry is reachable). The CLI is used to generate migration SQL and the client; the gateway
// applies migrations with its own runner (apps/gateway/src/audit/migrations.ts).
import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";

export default defineConfig({
  engine: "js",
  experimental: { adapter: true },
  schema: path.join(import.meta.dirname, "schema.prisma"),
  migrations: { path: path.join(import.meta.dirname, "migrations") },
  async adapter() {
    return new PrismaPg({ connectionString: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres" });
  },
});
