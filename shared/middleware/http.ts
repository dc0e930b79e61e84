import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { logger } from '#shared/observability/logger.ts';

export type HttpHandle = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The middy stack of every HTTP function: request context in the logs, lower-cased headers, and
 * errors translated to HTTP once (an error's own `statusCode` and message only when it is
 * `expose`d; anything else is a logged 500 with a generic body, so internals never reach a client).
 */
export function httpHandler(handle: HttpHandle) {
  return middy(handle)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpHeaderNormalizer())
    .use(
      httpErrorHandler({
        logger: (error) => logger.error('Request failed', error),
        fallbackMessage: JSON.stringify({ message: 'Internal server error' }),
      }),
    );
}

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}) {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  } satisfies APIGatewayProxyStructuredResultV2;
}
