import type { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * Detailed X-Ray tracing (Powertools: a subsegment for the handler and for each outgoing HTTP
 * request, the Salescaling calls among them, each then carrying an `X-Amzn-Trace-Id` header) only
 * where a function's POWERTOOLS_TRACE_ENABLED is `true`. Off by default: Lambda's active tracing
 * still records every invocation (its initialization, invocation and overhead) without any code
 * here, Salescaling calls are metrics by operation and outcome, and loading the X-Ray SDK would add
 * tens of milliseconds to every cold start (docs/performance.md). When on, the SDK is loaded at cold
 * start, before the first event. (X-Ray patches `http.request`; the deployed bundles see the patch
 * through the house's `node:http` alias, infra/constructs/house-function.ts.)
 */
export const tracer: Tracer =
  process.env.POWERTOOLS_TRACE_ENABLED === 'true'
    ? new (await import('@aws-lambda-powertools/tracer')).Tracer()
    : untraced();

/**
 * What the Powertools middleware and the house code call on a tracer, doing nothing: with tracing
 * off the middleware asks `isTracingEnabled()` and stops there.
 */
function untraced(): Tracer {
  const off = {
    isTracingEnabled: () => false,
    getSegment: () => undefined,
    putAnnotation: () => undefined,
    putMetadata: () => undefined,
    annotateColdStart: () => undefined,
    addServiceNameAnnotation: () => undefined,
    addResponseAsMetadata: () => undefined,
    addErrorAsMetadata: () => undefined,
    captureAWSv3Client: <T>(client: T) => client,
  } satisfies Partial<Tracer>;
  // Only these members exist: nothing in the project calls another (a call would throw, not pass silently).
  return off as unknown as Tracer;
}
