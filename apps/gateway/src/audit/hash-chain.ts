import { createHash } from "node:crypto";
import { type AuditRow, auditColumns, type ChainedAuditRow } from "./audit-row.ts";
import { canonicalJson } from "./canonical-json.ts";

/** The `prev_hash` of a chain's first row. */
export const genesisHash = "0".repeat(64);

/** The fields a row's hash covers, sorted (canonical JSON orders keys so): every column but chain_seq, prev_hash and row_hash. */
const hashedFields = [...auditColumns.filter((c) => c !== "chain_seq" && c !== "prev_hash" && c !== "row_hash")].sort();

/**
 * The hash of a row: SHA-256 over the previous row's hash and the canonical JSON of every field but
 * the chain's own bookkeeping (`chain_seq`, `prev_hash`, `row_hash`). `chain_seq` is left out on
 * purpose: a row moved to another place in the chain then still matches its own hash and breaks only
 * the links, which is how `audit verify` tells a reordered row from an edited one.
 *
 * The row's own fields are a fixed list, so their canonical form is written field by field in a
 * precomputed order; only the JSON columns (detail, capture) go through the general canonicaliser.
 * The result equals canonicalJson of the same object (tested), at a fraction of the cost per request.
 */
export function rowHash(prevHash: string, row: AuditRow & { chain_id: string }): string {
  const fields = row as unknown as Record<string, unknown>;
  let text = "{";
  for (let i = 0; i < hashedFields.length; i++) {
    const name = hashedFields[i] as string;
    const value = fields[name];
    if (value === undefined) continue;
    if (text.length > 1) text += ",";
    text += `"${name}":${typeof value === "string" ? JSON.stringify(value) : typeof value === "number" ? (Number.isFinite(value) ? String(value) : "null") : canonicalJson(value)}`;
  }
  text += "}";
  return createHash("sha256").update(prevHash).update("\n").update(text).digest("hex");
}

/**
 * One writer's hash chain: every row it writes gets the next sequence number and a hash linked to
 * the row before it. A chain belongs to one writer (one replica, one start), so no coordination
 * between replicas is needed and the order within a chain is exactly the order rows were finished.
 */
export class HashChain {
  readonly id: string;
  #seq = 0;
  #head = genesisHash;

  constructor(id: string) {
    this.id = id;
  }

  get length(): number {
    return this.#seq;
  }

  get head(): string {
    return this.#head;
  }

  /** Links the row in place (it is the writer's from here on) and returns it with its chain fields. */
  link(row: AuditRow): ChainedAuditRow {
    const chained = row as ChainedAuditRow;
    chained.chain_id = this.id;
    const prev = this.#head;
    const hash = rowHash(prev, chained);
    this.#seq += 1;
    this.#head = hash;
    chained.chain_seq = this.#seq;
    chained.prev_hash = prev;
    chained.row_hash = hash;
    return chained;
  }
}
