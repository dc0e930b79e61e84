import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * X-Ray tracing (Powertools): each invocation a segment, each outgoing HTTP request — the
 * Salescaling calls among them — a subsegment. Off locally (POWERTOOLS_TRACE_ENABLED=false).
 */
export const tracer = new Tracer();
