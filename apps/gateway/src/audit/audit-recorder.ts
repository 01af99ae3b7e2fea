import type { Exchange } from "../gate/exchange.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { AuditWriter } from "./audit-writer.ts";
import type { BodyCapture } from "./body-capture.ts";
import { exchangeRow } from "./exchange-row.ts";
import type { TeamResolver } from "./team-resolver.ts";

/** What the audit stage needs: turn finished exchanges into rows, and say whether rows can be kept. */
export class AuditRecorder {
  readonly required: boolean;
  /** Set when capture is on: how much of each body is kept. */
  readonly captureBytes: number | undefined;
  private readonly writer: AuditWriter;
  private readonly teams: TeamResolver;
  private readonly logger: Logger;

  constructor(options: { writer: AuditWriter; teams: TeamResolver; required: boolean; captureBytes: number | undefined; logger: Logger }) {
    this.writer = options.writer;
    this.teams = options.teams;
    this.required = options.required;
    this.captureBytes = options.captureBytes;
    this.logger = options.logger;
  }

  get accepting(): boolean {
    return this.writer.accepting;
  }

  /** Runs in the exchange's finisher: must never throw (the other finishers run after it). */
  record(exchange: Exchange, capture: BodyCapture | undefined): void {
    try {
      this.writer.add(exchangeRow(exchange, this.teams, capture === undefined ? null : capture.toColumn()));
    } catch (error) {
      this.logger.error({ err: error instanceof Error ? error.message : String(error), reqId: exchange.id }, "the audit row of a request could not be built");
    }
  }
}
