import { randomUUID } from 'node:crypto';
import { EVENT_SOURCE, events } from '#shared/events/catalog.ts';

/**
 * A representative first event per function (and per reference handler), new in every run so that
 * no run is answered from an idempotency record or an existing contact left by the run before, and
 * how to tell that the function answered it successfully (a run that failed is not a cold start).
 */
export interface FirstEvent {
  event: unknown;
  succeeded(response: unknown): boolean;
}

const httpEvent = (method: string, path: string, body?: unknown) => ({
  version: '2.0',
  routeKey: `${method} ${path}`,
  rawPath: path,
  rawQueryString: '',
  headers: { 'content-type': 'application/json', 'user-agent': 'bench' },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  isBase64Encoded: false,
  requestContext: {
    http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
    requestId: randomUUID(),
    routeKey: `${method} ${path}`,
    stage: '$default',
    timeEpoch: Date.now(),
  },
});

/** An SQS batch of one EventBridge event, as a rule's queue delivers it. */
const queuedEvent = (detailType: string, source: string, detail: unknown) => ({
  Records: [
    {
      messageId: randomUUID(),
      receiptHandle: 'bench',
      body: JSON.stringify({
        version: '0',
        id: randomUUID(),
        'detail-type': detailType,
        source,
        account: '000000000000',
        time: new Date().toISOString(),
        region: 'eu-west-1',
        resources: [],
        detail,
      }),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'bench',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:bench',
      awsRegion: 'eu-west-1',
    },
  ],
});

const status = (expected: number) => (response: unknown) =>
  (response as { statusCode?: number } | undefined)?.statusCode === expected;
const noBatchFailures = (response: unknown) =>
  (response as { batchItemFailures?: unknown[] } | undefined)?.batchItemFailures?.length === 0;

export function firstEvent(target: string, tag: string): FirstEvent {
  const unique = `${Date.now().toString(36)}-${tag}`;
  const email = `ada.${unique}@analytical-${unique}.example.com`;
  switch (target) {
    case 'empty':
    case 'sdk-floor-lead-ingest':
    case 'sdk-floor-stale-deals':
    case 'sdk-floor-with-queue':
      return { event: {}, succeeded: status(200) };
    case 'typical':
      return {
        event: httpEvent('POST', '/orders', { email, name: 'Ada Lovelace', amount: 24000 }),
        succeeded: status(202),
      };
    case 'api-health':
      return { event: httpEvent('GET', '/health'), succeeded: status(200) };
    case 'lead-ingest':
      return {
        event: httpEvent('POST', '/leads', {
          email,
          firstName: 'Ada',
          lastName: 'Lovelace',
          company: 'Analytical Engines',
          message: 'A demo, please',
          submissionId: unique,
        }),
        succeeded: status(202),
      };
    case 'lead-sync': {
      const example = events.leadReceived.example;
      return {
        event: queuedEvent(events.leadReceived.detailType, EVENT_SOURCE, {
          ...example,
          submissionId: `bench-${unique}`,
          contact: { ...example.contact, email },
          company: { name: `Analytical Engines ${unique}`, domain: `analytical-${unique}.example.com` },
        }),
        succeeded: noBatchFailures,
      };
    }
    case 'integration-commands': {
      const example = events.upsertOpportunity.example;
      return {
        event: queuedEvent(events.upsertOpportunity.detailType, 'bench.billing', {
          ...example,
          contact: { ...example.contact, email },
          company: { domain: `analytical-${unique}.example.com`, name: `Analytical Engines ${unique}` },
        }),
        succeeded: noBatchFailures,
      };
    }
    case 'stale-deals':
      // The schedule's run, dry (nothing closed, so every run sees the same seeded deals).
      return {
        event: { dryRun: true },
        succeeded: (response) => (response as { outcome?: string } | undefined)?.outcome === 'completed',
      };
    default:
      throw new Error(`No first event for ${target}: add one to local/tools/bench/first-events.ts`);
  }
}
