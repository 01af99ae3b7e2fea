import { closeSync, fdatasyncSync, fsyncSync, openSync, writeSync } from "node:fs";
import { type FileHandle, mkdir, open, readdir, readFile, stat, truncate, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ChainedAuditRow } from "./audit-row.ts";

export interface AuditSpoolOptions {
  dir: string;
  /** Past this many bytes on disk, appends are refused (the disk is not the only thing on the machine). */
  limitBytes: number;
  /** A segment is sealed and a new one begun past this size. */
  segmentBytes?: number;
}

/** Thrown when the spool cannot take rows: full, or the disk refused the write. */
export class SpoolUnavailableError extends Error {
  override readonly name = "SpoolUnavailableError";
}

const segmentPattern = /^spool-(\d{16})\.ndjson$/;

/**
 * The durable local spool: audit rows that could not be written to PostgreSQL, kept on disk until
 * they can be. Append-only NDJSON segments (`spool-<n>.ndjson`), one row per line, each append
 * fdatasync'ed before it counts as kept. Rows are written back segment by segment, oldest first,
 * in the order they were appended; a segment is deleted only once all its rows are in the database,
 * and writing it again after a crash is harmless because inserts are idempotent on the request id.
 *
 * A torn last line (the process died mid-append) was never acknowledged and is cut off when the
 * spool is opened. A line that is not JSON (disk damage) is moved to `rejected.ndjson` beside the
 * segments, never silently dropped.
 */
export class AuditSpool {
  readonly dir: string;
  private readonly limitBytes: number;
  private readonly segmentBytes: number;
  /** Sealed segments, oldest first, and the active one last. */
  private segments: number[] = [];
  private active: FileHandle | undefined;
  private activeNumber = 0;
  private activeSize = 0;
  private sizes = new Map<number, number>();
  private pendingRows = 0;

  private constructor(options: AuditSpoolOptions) {
    this.dir = options.dir;
    this.limitBytes = options.limitBytes;
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
  }

  static async open(options: AuditSpoolOptions): Promise<AuditSpool> {
    const spool = new AuditSpool(options);
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const numbers = (await readdir(options.dir))
      .map((name) => segmentPattern.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const n of numbers) {
      const file = spool.segmentFile(n);
      await cutTornTail(file);
      const size = (await stat(file)).size;
      if (size === 0) {
        await unlink(file);
        continue;
      }
      spool.segments.push(n);
      spool.sizes.set(n, size);
      spool.pendingRows += countLines(await readFile(file));
    }
    spool.activeNumber = (numbers.at(-1) ?? 0) + 1;
    return spool;
  }

  /** Rows kept on disk and not yet written back. */
  get pending(): number {
    return this.pendingRows;
  }

  get bytes(): number {
    let total = this.activeSize;
    for (const size of this.sizes.values()) total += size;
    return total;
  }

  /** Appends rows durably: resolves once they are on disk (fdatasync), rejects with SpoolUnavailableError otherwise. */
  async append(rows: readonly ChainedAuditRow[]): Promise<void> {
    if (rows.length === 0) return;
    const data = Buffer.from(rows.map((row) => `${JSON.stringify(row)}\n`).join(""));
    if (this.bytes + data.length > this.limitBytes) throw new SpoolUnavailableError(`the audit spool is full (${this.limitBytes} bytes)`);
    try {
      const handle = await this.activeHandle();
      await handle.write(data);
      await handle.datasync();
    } catch (error) {
      throw new SpoolUnavailableError(`the audit spool cannot be written: ${(error as Error).message}`);
    }
    this.activeSize += data.length;
    this.pendingRows += rows.length;
    if (this.activeSize >= this.segmentBytes) await this.seal();
  }

  /**
   * The same, synchronously: for the rare moment the writer's memory is full and the rows must leave
   * it before the current event-loop turn ends. Writes to a segment of its own, so it never
   * interleaves with an asynchronous append in progress.
   */
  appendSync(rows: readonly ChainedAuditRow[]): void {
    if (rows.length === 0) return;
    const data = Buffer.from(rows.map((row) => `${JSON.stringify(row)}\n`).join(""));
    if (this.bytes + data.length > this.limitBytes) throw new SpoolUnavailableError(`the audit spool is full (${this.limitBytes} bytes)`);
    // Inserted before the active segment in the replay order: a fresh number below it is not free,
    // so the active segment is sealed first and this one takes the next number.
    const n = this.activeNumber + (this.active === undefined ? 0 : 1);
    let fd: number | undefined;
    try {
      fd = openSync(this.segmentFile(n), "a", 0o600);
      writeSync(fd, data);
      fdatasyncSync(fd);
    } catch (error) {
      throw new SpoolUnavailableError(`the audit spool cannot be written: ${(error as Error).message}`);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    syncDir(this.dir);
    if (this.active !== undefined) {
      // The async handle is closed lazily; its segment is sealed as it stands.
      const handle = this.active;
      this.segments.push(this.activeNumber);
      this.sizes.set(this.activeNumber, this.activeSize);
      this.active = undefined;
      void handle.close().catch(() => undefined);
    }
    this.segments.push(n);
    this.sizes.set(n, data.length);
    this.activeNumber = n + 1;
    this.activeSize = 0;
    this.pendingRows += rows.length;
  }

  /**
   * Writes every spooled row back through `write`, in order, in batches; deletes each segment once all
   * its rows are written. Stops at the first failure (rows stay spooled) and rethrows it. Returns
   * how many rows were written back.
   */
  async replay(write: (rows: ChainedAuditRow[]) => Promise<void>, batchSize: number, onRejected: (line: string) => Promise<void>): Promise<number> {
    if (this.active !== undefined || this.activeSize > 0) await this.seal();
    let written = 0;
    while (this.segments.length > 0) {
      const n = this.segments[0] as number;
      const rows: ChainedAuditRow[] = [];
      const content = await readFile(this.segmentFile(n), "utf8");
      for (const line of content.split("\n")) {
        if (line === "") continue;
        try {
          rows.push(JSON.parse(line) as ChainedAuditRow);
        } catch {
          await onRejected(line);
        }
      }
      for (let i = 0; i < rows.length; i += batchSize) await write(rows.slice(i, i + batchSize));
      await unlink(this.segmentFile(n));
      this.segments.shift();
      this.sizes.delete(n);
      this.pendingRows -= rows.length;
      written += rows.length;
    }
    this.pendingRows = Math.max(0, this.pendingRows);
    return written;
  }

  async close(): Promise<void> {
    const handle = this.active;
    this.active = undefined;
    if (handle !== undefined) await handle.close();
  }

  private async activeHandle(): Promise<FileHandle> {
    if (this.active === undefined) {
      this.active = await open(this.segmentFile(this.activeNumber), "a", 0o600);
      // The new file's directory entry must be durable too, or a crash could lose the whole segment.
      syncDir(this.dir);
      this.activeSize = 0;
    }
    return this.active;
  }

  /** Closes the active segment; the next append begins a new one. */
  private async seal(): Promise<void> {
    const handle = this.active;
    if (handle === undefined) return;
    this.active = undefined;
    await handle.close();
    if (this.activeSize > 0) {
      this.segments.push(this.activeNumber);
      this.sizes.set(this.activeNumber, this.activeSize);
    } else {
      await unlink(this.segmentFile(this.activeNumber)).catch(() => undefined);
    }
    this.activeNumber += 1;
    this.activeSize = 0;
  }

  private segmentFile(n: number): string {
    return join(this.dir, `spool-${String(n).padStart(16, "0")}.ndjson`);
  }
}

/** Cuts an unterminated last line off a segment (an append the process did not live to finish). */
async function cutTornTail(file: string): Promise<void> {
  const content = await readFile(file);
  if (content.length === 0 || content[content.length - 1] === 0x0a) return;
  const kept = content.lastIndexOf(0x0a) + 1;
  // The torn bytes were never acknowledged, but they are kept beside the spool for the operator.
  await writeFile(`${file}.torn-${Date.now()}`, content.subarray(kept));
  await truncate(file, kept);
}

function countLines(content: Buffer): number {
  let lines = 0;
  for (let i = content.indexOf(0x0a); i !== -1; i = content.indexOf(0x0a, i + 1)) lines += 1;
  return lines;
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the data itself was synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
