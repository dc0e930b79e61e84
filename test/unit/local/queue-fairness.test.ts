import type { SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import type { EventTrigger } from '#functions/declaration.ts';
import type { FunctionHost, InvocationResult } from '#local/runtime/function-host.ts';
import { LocalQueue } from '#local/runtime/queue.ts';
import { DeadLetters } from '#local/runtime/records.ts';
import { eventually } from '#test/support/eventually.ts';

/**
 * A message that fails and is visible again at once must not keep the messages behind it from ever
 * being received: in the full soak's outage phase, one of 50 failing leads went 10 minutes without a
 * receive while the others were received up to 110 times (batches took the queue's head each time).
 */
describe('a local queue under failing messages', () => {
  let queue: LocalQueue | undefined;
  afterEach(() => queue?.close());

  it('delivers every message in turn, not the head of the queue again and again', async () => {
    const leadSync = catalog.find((d) => d.name === 'lead-sync');
    const trigger = leadSync?.triggers.find((t): t is EventTrigger => t.kind === 'event');
    if (!leadSync || !trigger) throw new Error('lead-sync has no event trigger');
    const received: string[] = [];
    // Every record fails, and is visible again at once (no delay of its own, a queue delay of 0).
    const host = {
      declaration: leadSync,
      invoke: async (event: SQSEvent): Promise<InvocationResult> => {
        await new Promise((resolve) => setImmediate(resolve));
        for (const record of event.Records) received.push(record.body);
        return {
          ok: true,
          result: { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) },
        };
      },
    } as unknown as FunctionHost;
    queue = new LocalQueue({
      trigger: { ...trigger, batchSize: 1 },
      host,
      deadLetters: new DeadLetters(),
      retryDelayMs: 0,
      maxReceiveCount: 1_000_000,
      region: 'us-east-1',
      accountId: '000000000000',
      onBatch: () => undefined,
      maxConcurrency: 1,
    });
    for (const body of ['a', 'b', 'c', 'd']) queue.send(body);
    await eventually(
      () => received.length,
      (n) => n >= 40,
    );
    queue.close();
    const counts = Object.fromEntries(
      ['a', 'b', 'c', 'd'].map((b) => [b, received.filter((r) => r === b).length]),
    );
    // Round robin, give or take the batch in flight when counted.
    for (const count of Object.values(counts)) expect(count).toBeGreaterThanOrEqual(9);
  });
});
