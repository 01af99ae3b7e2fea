import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical-json.ts";
import { genesisHash, HashChain, rowHash } from "./hash-chain.ts";
import { createHash } from "node:crypto";
import { sampleRow } from "./sample-rows.ts";

describe("the hash chain", () => {
  it("hashes a row as SHA-256 over the previous hash and the row's canonical JSON without its chain bookkeeping", () => {
    const row = { ...sampleRow({ detail: { b: 1, a: { d: [1, { z: 2, y: 1 }], c: "x" } }, capture: null }), chain_id: "c1" };
    const expected = createHash("sha256").update(genesisHash).update("\n").update(canonicalJson(row)).digest("hex");
    expect(rowHash(genesisHash, row)).toBe(expected);
    // Key order does not matter, as after a round trip through jsonb.
    const reordered = Object.fromEntries(Object.entries(row).reverse()) as typeof row;
    expect(rowHash(genesisHash, { ...reordered, detail: { a: { c: "x", d: [1, { y: 1, z: 2 }] }, b: 1 } })).toBe(expected);
  });

  it("links each row to the one before it, numbering from 1", () => {
    const chain = new HashChain("c2");
    const first = chain.link(sampleRow());
    const second = chain.link(sampleRow());
    expect([first.chain_seq, second.chain_seq]).toEqual([1, 2]);
    expect(first.prev_hash).toBe(genesisHash);
    expect(second.prev_hash).toBe(first.row_hash);
    expect(chain.head).toBe(second.row_hash);
    const { chain_seq: _s, prev_hash: _p, row_hash: _h, ...content } = second;
    expect(rowHash(first.row_hash, content)).toBe(second.row_hash);
    expect(rowHash(first.row_hash, { ...content, cost_micro_usd: content.cost_micro_usd + 1 })).not.toBe(second.row_hash);
  });
});
