import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["apps/*/src/**/*.test.ts", "apps/*/test/**/*.test.ts"],
    // Tests start real TLS servers, the real opa, PostgreSQL and Redis: give them room, but never rely on time.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
