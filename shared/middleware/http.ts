import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { RequestError, ServiceUnavailableError } from '#shared/errors.ts';
import { logger } from '#shared/observability/logger.ts';
import { metrics } from '#shared/observability/metrics.ts';
import { tracer } from '#shared/observability/tracer.ts';

export type HttpHandle<C extends Context = Context> = (
  event: APIGatewayProxyEventV2,
  context: C,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The middy stack of every HTTP function: request context in the logs, lower-cased headers, and
 * errors translated to HTTP once (see `httpErrors`). Functions add their own middlewares with
 * `.use()` (they run after these `before` steps, and their errors are translated too).
 */
export function httpHandler<C extends Context = Context>(handle: HttpHandle<C>) {
  return middy(handle)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(httpErrors())
    .use(httpHeaderNormalizer());
}

/**
 * `RequestError` → its status with `{ message, errors }`; `ServiceUnavailableError` → 503 (logged);
 * anything else → logged, 500 with a generic body. Internals never reach the client.
 */
export function httpErrors(): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: async (request) => {
      const { error } = request;
      if (error instanceof RequestError) {
        logger.info('Request refused', { status: error.status, reason: error.message, fields: error.fields });
        request.response = jsonResponse(error.status, {
          message: error.message,
          ...(error.fields.length > 0 ? { errors: error.fields } : {}),
        });
        return;
      }
      if (error instanceof ServiceUnavailableError) {
        logger.warn('Service unavailable', { error });
        request.response = jsonResponse(
          503,
          { message: 'Temporarily unavailable, please retry' },
          { 'retry-after': '5' },
        );
        return;
      }
      logger.error('Request failed', { error });
      request.response = jsonResponse(500, { message: 'Internal server error' });
    },
  };
}

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}) {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  } satisfies APIGatewayProxyStructuredResultV2;
}

export function redirectResponse(location: string) {
  return {
    statusCode: 303,
    headers: { location, 'cache-control': 'no-store' },
    body: '',
  } satisfies APIGatewayProxyStructuredResultV2;
}
