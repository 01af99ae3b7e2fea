import { ROOT_CONTEXT, type Context, type Span, SpanKind, type Tracer, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";

export interface TracingOptions {
  serviceName: string;
  /** OTLP/HTTP endpoint for traces (…/v1/traces). */
  otlpEndpoint?: string | undefined;
  /** An exporter of one's own (tests use an in-memory one); spans are then exported synchronously. */
  exporter?: SpanExporter;
}

export interface Tracing {
  tracer: Tracer;
  /** Flushes and stops exporting. */
  shutdown(): Promise<void>;
}

const w3c = new W3CTraceContextPropagator();
const headerGetter = {
  keys: (carrier: Record<string, string | string[] | undefined>) => Object.keys(carrier),
  get: (carrier: Record<string, string | string[] | undefined>, key: string) => carrier[key],
};

/**
 * The gateway's tracer. Without an endpoint or exporter it is OpenTelemetry's no-op tracer, whose
 * spans cost next to nothing, so the hot path pays for tracing only when someone collects traces.
 * The provider is not registered globally: two gateways in one process (tests) keep their own.
 */
export function createTracing(options: TracingOptions): Tracing {
  const processors: SpanProcessor[] = [];
  if (options.exporter !== undefined) processors.push(new SimpleSpanProcessor(options.exporter));
  if (options.otlpEndpoint !== undefined) {
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: options.otlpEndpoint })));
  }
  if (processors.length === 0) {
    return { tracer: trace.getTracerProvider().getTracer("tollgate"), shutdown: async () => {} };
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    spanProcessors: processors,
  });
  return { tracer: provider.getTracer("tollgate"), shutdown: () => provider.shutdown() };
}

/** The root span of a request, continuing the caller's trace when it sent a W3C `traceparent`. */
export function startRequestSpan(
  tracer: Tracer,
  name: string,
  headers: Record<string, string | string[] | undefined>,
): Span {
  const parent = headers.traceparent === undefined ? ROOT_CONTEXT : w3c.extract(ROOT_CONTEXT, headers, headerGetter);
  return tracer.startSpan(name, { kind: SpanKind.SERVER }, parent);
}

/** A child span of a stage, parented explicitly (no reliance on async context propagation). */
export function startChildSpan(tracer: Tracer, parent: Span | undefined, name: string, kind: SpanKind = SpanKind.INTERNAL): Span {
  const ctx: Context = parent === undefined ? ROOT_CONTEXT : trace.setSpan(ROOT_CONTEXT, parent);
  return tracer.startSpan(name, { kind }, ctx);
}
