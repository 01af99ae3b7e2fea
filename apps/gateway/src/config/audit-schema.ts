/**
 * The `audit:` and `admin:` sections of the configuration: where audit rows go (PostgreSQL, or
 * PGlite embedded under the data directory), how they are batched and spooled, who counts as a
 * team in spend reports, and the operators' admin listener.
 */
import { z } from "zod";
import { byteSize, duration, spiffeIdText } from "./schema-types.ts";

const spiffePattern = z
  .string()
  .regex(/^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)*(\/\*\*?)?$/, "must be a SPIFFE ID or a pattern ending in /* (one segment) or /** (one or more)");

const embeddedDatabase = z.strictObject({
  kind: z.literal("embedded"),
  dir: z.string().optional().describe("Where PGlite keeps its files; default <data_dir>/pglite."),
});

const postgresDatabase = z.strictObject({
  kind: z.literal("postgres"),
  url: z.string().min(1).describe("A PostgreSQL connection URL, e.g. postgresql://tollgate:${PGPASSWORD}@postgres:5432/tollgate."),
  connections: z.number().int().min(1).max(64).default(4).describe("Connections kept open (the writer uses one; admin queries the others)."),
});

export const auditSectionSchema = z.strictObject({
  enabled: z.boolean().default(true).describe("Record every request. Turning it off is for tests and benchmarks only."),
  database: z
    .discriminatedUnion("kind", [embeddedDatabase, postgresDatabase])
    .default({ kind: "embedded" })
    .describe("embedded: PGlite (PostgreSQL in WebAssembly) under the data directory, served on a loopback port; postgres: a PostgreSQL server."),
  migrate: z.boolean().default(true).describe("Apply pending migrations at start (under an advisory lock, so replicas starting together are safe)."),
  required: z
    .boolean()
    .default(false)
    .describe("Refuse requests with 503 before forwarding them while their audit row could be neither written nor spooled."),
  spool_dir: z.string().optional().describe("The durable local spool used while PostgreSQL is unreachable; default <data_dir>/audit-spool."),
  spool_limit: byteSize.default(1024 ** 3).describe("Most the spool may hold on disk; past it the spool counts as unavailable."),
  batch_size: z.number().int().min(1).max(2000).default(500).describe("Most rows written in one statement."),
  flush_interval: duration.default(200).describe("Longest a row waits in memory before its batch is written."),
  queue_limit: z.number().int().min(100).default(20_000).describe("Most rows held in memory; past it they are spooled at once (memory stays bounded)."),
  retry_interval: duration.default(2_000).describe("How often an unreachable PostgreSQL is tried again (the spool is written back when it answers)."),
  statement_timeout: duration.default(15_000).describe("Longest one write may take before PostgreSQL counts as unreachable."),
  chain_id: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/)
    .optional()
    .describe("Names this replica's hash chain; default: the host name and the start time (a new chain per start)."),
  teams: z
    .record(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), z.array(spiffePattern).min(1))
    .default({})
    .describe("Team name -> SPIFFE ID patterns, for spend by team; first match in this order wins. Callers no pattern matches fall in the team named by their ID without its last segment."),
  capture: z
    .strictObject({
      enabled: z.boolean().default(false).describe("Store request bodies (prompts) and response bodies (completions) with the audit row, redacted of keys and tokens."),
      max_bytes: byteSize.default(64 * 1024).describe("Most of each body kept."),
    })
    .default({ enabled: false, max_bytes: 64 * 1024 })
    .describe("Prompts and completions are not stored unless this is turned on."),
});

export const adminSectionSchema = z.strictObject({
  enabled: z
    .boolean()
    .default(false)
    .describe("Serve the admin API (spend, audit, budgets, policy status) on its own mTLS listener. On in the embedded defaults (npm start); turn it on in a configuration file."),
  listen: z
    .strictObject({
      host: z.string().default("127.0.0.1").describe("Address to listen on."),
      port: z.number().int().min(0).max(65535).describe("Port to listen on; 0 picks a free one."),
    })
    .default({ host: "127.0.0.1", port: 8444 })
    .describe("The admin listener: HTTPS with mutual TLS; callers are authorized by the policy with resource kind admin."),
  target: spiffeIdText.default("spiffe://ai.company.org/service/tollgate-admin").describe("The SPIFFE ID that policies see as `input.target` for admin requests."),
});

export type AuditSection = z.output<typeof auditSectionSchema>;
export type AdminSection = z.output<typeof adminSectionSchema>;
