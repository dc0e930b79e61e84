import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import * as z from 'zod';

/**
 * The "usual handler" the cold-start benchmark compares against, written as Powertools' docs show
 * it: Logger, Tracer (with the SDK client captured) and Metrics through middy, a zod parse of the
 * request, one EventBridge PutEvents. zod is imported as a namespace (tree-shaken), so the reference
 * does not carry the ~350 KB that `import { z }` would add.
 */
const logger = new Logger();
const tracer = new Tracer();
const metrics = new Metrics({ namespace: 'Reference' });
const eventBridge = tracer.captureAWSv3Client(new EventBridgeClient({}));

const orderSchema = z.object({
  email: z.email(),
  name: z.string().min(1).max(200),
  amount: z.number().min(0).optional(),
});

const lambdaHandler = async (event: APIGatewayProxyEventV2, _context: Context) => {
  const parsed = orderSchema.safeParse(JSON.parse(event.body ?? '{}'));
  if (!parsed.success) return { statusCode: 400, body: JSON.stringify({ errors: parsed.error.issues }) };
  await eventBridge.send(
    new PutEventsCommand({
      Entries: [
        {
          EventBusName: process.env.EVENT_BUS_NAME,
          Source: 'reference',
          DetailType: 'Order Received',
          Detail: JSON.stringify(parsed.data),
        },
      ],
    }),
  );
  metrics.addMetric('OrdersReceived', MetricUnit.Count, 1);
  logger.info('Order received');
  return { statusCode: 202, body: '{}' };
};

export const handler = middy(lambdaHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
