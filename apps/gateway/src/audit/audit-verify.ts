import type { Pool } from "pg";
import type { AuditRow } from "./audit-row.ts";
import { genesisHash, rowHash } from "./hash-chain.ts";
import "./pg-types.ts";

export type ChainProblemKind = "edited" | "deleted" | "reordered";

export interface ChainProblem {
  kind: ChainProblemKind;
  chainId: string;
  /** The sequence number where the chain stops holding. */
  seq: number;
  /** The row found there (for "deleted": the first row after the gap). */
  requestId: string | undefined;
  message: string;
}

export interface ChainSummary {
  chainId: string;
  rows: number;
  lastSeq: number;
  /** The hash of the chain's last row: write it down to detect later truncation of the chain's end. */
  head: string;
  /** The first problem found, if any (verification of a chain stops there). */
  problem?: ChainProblem;
}

export interface VerifyResult {
  ok: boolean;
  rows: number;
  chains: ChainSummary[];
}

const pageSize = 5000;

/**
 * Walks every hash chain in sequence order and names the first row where each stops holding:
 *  - a gap in the sequence numbers: rows were deleted;
 *  - a row whose content no longer gives its hash: it was edited;
 *  - a row whose content is intact but which does not follow the row before it (its prev_hash is
 *    another row's hash): rows were reordered (or one before it deleted and the rest renumbered).
 * Deleting a chain's last rows leaves no gap; compare `head` with one written down earlier (every
 * run prints it) to catch that.
 */
export async function verifyAuditChains(pool: Pool, options: { chain?: string } = {}): Promise<VerifyResult> {
  const chains = options.chain !== undefined ? [options.chain] : (await pool.query<{ chain_id: string }>(`SELECT DISTINCT "chain_id" FROM "audit_events" ORDER BY 1`)).rows.map((r) => r.chain_id);
  const result: VerifyResult = { ok: true, rows: 0, chains: [] };
  for (const chainId of chains) {
    const summary = await verifyChain(pool, chainId);
    result.rows += summary.rows;
    if (summary.problem !== undefined) result.ok = false;
    result.chains.push(summary);
  }
  return result;
}

type StoredRow = AuditRow & { chain_id: string; chain_seq: number; prev_hash: string; row_hash: string; occurred_at: Date | string };

async function verifyChain(pool: Pool, chainId: string): Promise<ChainSummary> {
  const summary: ChainSummary = { chainId, rows: 0, lastSeq: 0, head: genesisHash };
  let expectedSeq = 1;
  let previousHash = genesisHash;
  let afterSeq = 0;
  for (;;) {
    const rows = (
      await pool.query<StoredRow>(
        `SELECT "request_id", "chain_id", "chain_seq", "prev_hash", "row_hash", "occurred_at", "trace_id", "protocol", "method", "path", "caller",
          "auth_method", "team", "target", "resource_kind", "resource_name", "resource_action", "decision", "reasons", "policy_revision", "provider",
          "model", "attempts", "status", "outcome", "error_code", "error_reason", "latency_us", "input_tokens", "output_tokens", "cached_input_tokens",
          "reasoning_tokens", "cost_micro_usd", "price_id", "detail", "capture"
         FROM "audit_events" WHERE "chain_id" = $1 AND "chain_seq" > $2 ORDER BY "chain_seq" LIMIT $3`,
        [chainId, afterSeq, pageSize],
      )
    ).rows;
    for (const stored of rows) {
      const seq = Number(stored.chain_seq);
      if (seq !== expectedSeq) {
        const missing = seq - expectedSeq === 1 ? `row ${expectedSeq} is` : `rows ${expectedSeq}..${seq - 1} are`;
        summary.problem = { kind: "deleted", chainId, seq: expectedSeq, requestId: stored.request_id, message: `${missing} missing before request ${stored.request_id} (seq ${seq}): deleted` };
        return summary;
      }
      const { chain_seq: _s, prev_hash: _p, row_hash: _h, ...content } = stored;
      const recomputed = rowHash(stored.prev_hash, { ...content, occurred_at: toIso(stored.occurred_at), reasons: stored.reasons ?? [] } as AuditRow & { chain_id: string });
      if (recomputed !== stored.row_hash) {
        summary.problem = { kind: "edited", chainId, seq, requestId: stored.request_id, message: `request ${stored.request_id} (seq ${seq}) was edited: its content no longer matches its hash` };
        return summary;
      }
      if (stored.prev_hash !== previousHash) {
        summary.problem = await linkProblem(pool, chainId, stored, seq);
        return summary;
      }
      previousHash = stored.row_hash;
      expectedSeq += 1;
      summary.rows += 1;
      summary.lastSeq = seq;
      summary.head = stored.row_hash;
    }
    if (rows.length < pageSize) return summary;
    afterSeq = (rows.at(-1) as StoredRow).chain_seq;
  }
}

/** A row intact in itself that does not follow the row before it: moved, or its predecessor removed. */
async function linkProblem(pool: Pool, chainId: string, stored: StoredRow, seq: number): Promise<ChainProblem> {
  const predecessor = (
    await pool.query<{ chain_seq: number; request_id: string }>(`SELECT "chain_seq", "request_id" FROM "audit_events" WHERE "chain_id" = $1 AND "row_hash" = $2 LIMIT 1`, [
      chainId,
      stored.prev_hash,
    ])
  ).rows[0];
  if (predecessor !== undefined) {
    return {
      kind: "reordered",
      chainId,
      seq,
      requestId: stored.request_id,
      message: `request ${stored.request_id} (seq ${seq}) is out of order: it was written after request ${predecessor.request_id}, now at seq ${predecessor.chain_seq}`,
    };
  }
  return {
    kind: "deleted",
    chainId,
    seq,
    requestId: stored.request_id,
    message: `the row written before request ${stored.request_id} (seq ${seq}) is missing: deleted, and the sequence renumbered`,
  };
}

function toIso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}
