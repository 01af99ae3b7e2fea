import type { ExportResult } from "@opentelemetry/core";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";

/**
 * An in-memory span exporter that a test can wait on: a span is exported when it ends, which for a
 * request's root span is after the caller already has its response, so tests await the span itself
 * instead of hoping it has ended by the time they look.
 */
export class ObservedSpanExporter extends InMemorySpanExporter {
  readonly #waiting = new Set<{ wanted: (span: ReadableSpan) => boolean; resolve: (span: ReadableSpan) => void }>();

  override export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    super.export(spans, resultCallback);
    for (const span of spans) {
      for (const waiter of this.#waiting) {
        if (!waiter.wanted(span)) continue;
        this.#waiting.delete(waiter);
        waiter.resolve(span);
      }
    }
  }

  /** The first finished span that satisfies `wanted`: one already exported, or the next one to be. */
  finishedSpan(wanted: (span: ReadableSpan) => boolean): Promise<ReadableSpan> {
    const done = this.getFinishedSpans().find(wanted);
    if (done !== undefined) return Promise.resolve(done);
    return new Promise((resolve) => this.#waiting.add({ wanted, resolve }));
  }
}
