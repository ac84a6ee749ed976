// Spans exported with the OpenTelemetry SDK (OTLP over HTTP). Loaded only when an endpoint is
// configured: a server without one never imports the SDK, and pays nothing per call.
import type { TraceParent } from './trace-context.js';

export type SpanAttributes = Record<string, string | number>;

/** One call's server span. */
export interface CallSpan {
  /** The trace it belongs to: the caller's, or a new one. */
  readonly traceId: string;
  end(attributes: SpanAttributes, failed: boolean): void;
}

export interface Tracer {
  /** A SERVER span, a child of the caller's span when its `traceparent` named one. */
  startServerSpan(name: string, attributes: SpanAttributes, parent: TraceParent | undefined): CallSpan;
  /** Exports what is buffered, then stops. */
  shutdown(): Promise<void>;
}

export interface TracingSettings {
  /** OTLP/HTTP base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` gives it: spans go to `<endpoint>/v1/traces`. */
  endpoint: string;
  serviceName: string;
  serviceVersion: string;
}

/** The traces URL of an OTLP base endpoint, as the OpenTelemetry exporter specification builds it. */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

export async function openTracer(settings: TracingSettings): Promise<Tracer> {
  const [api, sdk, otlp, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  // Sampling, batch sizes and export headers follow the standard OTEL_* variables (OTEL_TRACES_SAMPLER…).
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({
      'service.name': settings.serviceName,
      'service.version': settings.serviceVersion,
    }),
    spanProcessors: [new sdk.BatchSpanProcessor(new otlp.OTLPTraceExporter({ url: tracesUrl(settings.endpoint) }))],
  });
  const tracer = provider.getTracer('twinapi', settings.serviceVersion);
  return {
    startServerSpan(name, attributes, parent) {
      const context = parent
        ? api.trace.setSpanContext(api.ROOT_CONTEXT, {
            traceId: parent.traceId,
            spanId: parent.spanId,
            traceFlags: parent.flags,
            isRemote: true,
          })
        : api.ROOT_CONTEXT;
      const span = tracer.startSpan(name, { kind: api.SpanKind.SERVER, attributes }, context);
      return {
        traceId: span.spanContext().traceId,
        end(more, failed) {
          span.setAttributes(more);
          if (failed) span.setStatus({ code: api.SpanStatusCode.ERROR });
          span.end();
        },
      };
    },
    shutdown: () => provider.shutdown(),
  };
}
