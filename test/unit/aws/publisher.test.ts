import 'aws-sdk-client-mock-vitest/extend';
import {
  EventBridgeClient,
  EventBridgeServiceException,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ingestLead } from '#functions/lead-ingest/ingest.ts';
import { rateLimitedRefresh } from '#functions/lead-ingest/secret-refresh.ts';
import { ServiceUnavailableError } from '#shared/errors.ts';
import { EventPublishError, eventBridgePublisher } from '#shared/events/publisher.ts';

/** PutEvents failures, on the real SDK client with its `send` replaced (aws-sdk-client-mock). */
const eventBridge = mockClient(EventBridgeClient);
beforeEach(() => eventBridge.reset());

const throttled = () =>
  new EventBridgeServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });

const publisher = () => eventBridgePublisher(new EventBridgeClient({ region: 'eu-west-1' }), 'leads-bus');

describe('eventBridgePublisher', () => {
  it('throws when EventBridge refuses the entry (FailedEntryCount > 0), naming its error code', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
    });
    const publishing = publisher().publish('Lead Received', { a: 1 });
    await expect(publishing).rejects.toThrow(EventPublishError);
    await expect(publishing).rejects.toThrow(
      'EventBridge refused "Lead Received": ThrottlingException Rate exceeded',
    );
  });

  it('throws when the answer carries no event id, even with FailedEntryCount 0', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{}] });
    await expect(publisher().publish('Lead Received', {})).rejects.toThrow(EventPublishError);
  });

  it('throws an EventPublishError, with the SDK error as its cause, when PutEvents is throttled', async () => {
    const error = throttled();
    eventBridge.on(PutEventsCommand).rejects(error);
    const failure = await publisher()
      .publish('Lead Received', {})
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failure).toBeInstanceOf(EventPublishError);
    expect((failure as Error).message).toBe('Could not put "Lead Received" on leads-bus');
    expect((failure as Error).cause).toBe(error);
  });

  it('returns the event id when the entry is accepted, after putting one entry on the named bus', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });
    await expect(publisher().publish('Lead Received', { a: 1 })).resolves.toEqual({ eventId: 'evt-1' });
    expect(eventBridge).toHaveReceivedCommandExactlyOnceWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: 'leads-bus',
          Source: expect.any(String),
          DetailType: 'Lead Received',
          Detail: '{"a":1}',
        },
      ],
    });
  });
});

describe('ingestLead over a failing PutEvents', () => {
  const settings = { allowedOrigins: [], honeypotField: 'fax', maxBodyBytes: 10_000, mapping: {} };
  const request = () => ({
    provider: undefined,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ email: 'ada@acme.com', firstName: 'Ada', submissionId: 'sub-1' })),
    receivedAt: new Date('2026-01-01T00:00:00Z'),
  });
  const deps = () => ({
    publisher: publisher(),
    signingSecrets: rateLimitedRefresh(async () => ({}), { now: () => 0 }),
  });

  it.each([
    [
      'a partial failure (FailedEntryCount 1)',
      () =>
        eventBridge
          .on(PutEventsCommand)
          .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] }),
    ],
    ['throttling', () => eventBridge.on(PutEventsCommand).rejectsOnce(throttled())],
  ] as const)('answers 503 on %s, and the retry the sender makes puts the same lead', async (_, fail) => {
    // The first put fails, the next succeeds.
    fail().resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-2' }] });

    // Not accepted: a ServiceUnavailableError is the 503 that makes the sender retry.
    await expect(ingestLead(request(), settings, deps())).rejects.toThrow(ServiceUnavailableError);
    const retried = await ingestLead(request(), settings, deps());

    expect(retried).toMatchObject({ kind: 'accepted', eventId: 'evt-2' });
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    // Both attempts carried the whole lead: nothing was dropped between them.
    const [first, second] = eventBridge
      .commandCalls(PutEventsCommand)
      .map(
        (call) => JSON.parse(call.args[0].input.Entries?.[0]?.Detail ?? 'null') as Record<string, unknown>,
      );
    expect(first).toMatchObject({ submissionId: 'sub-1', contact: { email: 'ada@acme.com' } });
    expect({ ...first, receivedAt: undefined }).toEqual({ ...second, receivedAt: undefined });
  });
});
