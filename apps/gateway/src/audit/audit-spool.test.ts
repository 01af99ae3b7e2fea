import { appendFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ChainedAuditRow } from "./audit-row.ts";
import { AuditSpool, SpoolUnavailableError } from "./audit-spool.ts";
import { HashChain } from "./hash-chain.ts";
import { sampleRow } from "./sample-rows.ts";

describe("the audit spool", () => {
  let dir: string;
  const chain = new HashChain("spool-test");
  const rows = (n: number) => Array.from({ length: n }, () => chain.link(sampleRow()));
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tollgate-spool-unit-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps rows across a restart and gives them back in the order they were appended, segment by segment", async () => {
    const spool = await AuditSpool.open({ dir, limitBytes: 1e8, segmentBytes: 2000 });
    const first = rows(5);
    const second = rows(7);
    await spool.append(first);
    spool.appendSync(second.slice(0, 2));
    await spool.append(second.slice(2));
    await spool.close();
    expect((await readdir(dir)).filter((f) => f.endsWith(".ndjson")).length).toBeGreaterThan(2);

    const reopened = await AuditSpool.open({ dir, limitBytes: 1e8, segmentBytes: 2000 });
    expect(reopened.pending).toBe(12);
    const replayed: ChainedAuditRow[] = [];
    expect(await reopened.replay(async (batch) => void replayed.push(...batch), 3, async () => undefined)).toBe(12);
    expect(replayed.map((r) => r.chain_seq)).toEqual([...first, ...second].map((r) => r.chain_seq));
    expect(reopened.pending).toBe(0);
    expect((await readdir(dir)).filter((f) => f.endsWith(".ndjson"))).toEqual([]);
  });

  it("stops a replay at the first failure and keeps the unwritten segment for the next one", async () => {
    const spool = await AuditSpool.open({ dir, limitBytes: 1e8 });
    const appended = rows(6);
    await spool.append(appended);
    let calls = 0;
    await expect(
      spool.replay(
        async () => {
          calls += 1;
          if (calls === 2) throw new Error("database gone");
        },
        2,
        async () => undefined,
      ),
    ).rejects.toThrow("database gone");
    expect(spool.pending).toBe(6);
    const again: ChainedAuditRow[] = [];
    await spool.replay(async (batch) => void again.push(...batch), 2, async () => undefined);
    expect(again.map((r) => r.request_id)).toEqual(appended.map((r) => r.request_id));
  });

  it("cuts a torn last line (an append the process did not finish) and sets damaged lines aside", async () => {
    const spool = await AuditSpool.open({ dir, limitBytes: 1e8 });
    const kept = rows(3);
    await spool.append(kept);
    await spool.close();
    const [segment] = (await readdir(dir)).filter((f) => f.endsWith(".ndjson"));
    await appendFile(join(dir, segment as string), `not json at all\n{"request_id":"torn`);
    const reopened = await AuditSpool.open({ dir, limitBytes: 1e8 });
    expect(reopened.pending).toBe(4);
    expect((await readdir(dir)).some((f) => f.includes(".torn-"))).toBe(true);
    const rejected: string[] = [];
    const replayed: ChainedAuditRow[] = [];
    await reopened.replay(async (batch) => void replayed.push(...batch), 10, async (line) => void rejected.push(line));
    expect(replayed.map((r) => r.request_id)).toEqual(kept.map((r) => r.request_id));
    expect(rejected).toEqual(["not json at all"]);
  });

  it("refuses rows past its limit", async () => {
    const spool = await AuditSpool.open({ dir, limitBytes: 500 });
    await expect(spool.append(rows(3))).rejects.toBeInstanceOf(SpoolUnavailableError);
    expect(() => spool.appendSync(rows(3))).toThrow(SpoolUnavailableError);
    expect(spool.pending).toBe(0);
    expect((await readdir(dir)).filter((f) => f.endsWith(".ndjson"))).toEqual([]);
  });
});
