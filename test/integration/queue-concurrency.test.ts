import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defineCatalog } from '#functions/declaration.ts';
import type { InvocationRecord } from '#local/runtime/records.ts';
import { LOCAL_BUS_NAME, type LocalRuntime } from '#local/runtime/runtime.ts';
import { peakOverlap } from '#local/tools/peak-overlap.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import { eventually } from '#test/support/eventually.ts';
import { quiet } from '#test/support/quiet.ts';

/**
 * A queue runs up to its trigger's maxConcurrency batches at once, each in a sandbox of its own,
 * as Lambda's SQS poller does; observed in the runtime's invocation log (start and duration).
 */
const catalog = defineCatalog([
  {
    name: 'hold-batch',
    description: 'Holds each record a while',
    entry: 'test/fixtures/functions/hold-batch.ts',
    memoryMb: 256,
    timeoutSeconds: 10,
    access: ['eventBus'],
    triggers: [
      {
        kind: 'event',
        name: 'fixture-held',
        pattern: { source: ['test.fixture'], 'detail-type': ['Fixture Held'] },
        batchSize: 1,
        maxReceiveCount: 1,
        maxConcurrency: 2,
      },
      {
        kind: 'event',
        name: 'fixture-held-in-batches',
        pattern: { source: ['test.fixture'], 'detail-type': ['Fixture Held In Batches'] },
        batchSize: 4,
        maxReceiveCount: 1,
        maxConcurrency: 2,
      },
    ],
  },
]);

let runtime: LocalRuntime;
let events: EventBridgeClient;

beforeAll(async () => {
  runtime = await startQuietRuntime({
    declarations: catalog,
    secrets: { salescalingApiKey: 'fixture-key-123' },
    queueRetryDelayMs: 10,
  });
  events = new EventBridgeClient({
    endpoint: runtime.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

beforeEach(async () => {
  await quiet(runtime);
  runtime.invocations.clear();
  runtime.deadLetters.clear();
});

afterAll(async () => {
  await runtime?.close();
});

async function put(detailType: string, details: Record<string, unknown>[]) {
  await events.send(
    new PutEventsCommand({
      Entries: details.map((detail) => ({
        EventBusName: LOCAL_BUS_NAME,
        Source: 'test.fixture',
        DetailType: detailType,
        Detail: JSON.stringify(detail),
      })),
    }),
  );
}

const interval = (i: InvocationRecord) => {
  const start = Date.parse(i.startedAt);
  return { start, end: start + i.durationMs };
};

/** The most invocations running at any one instant. */
const peakInvocations = (list: InvocationRecord[]) => peakOverlap(list.map(interval));

describe('a queue with maxConcurrency 2', () => {
  it('runs two batches at once, never three, each in its own sandbox', async () => {
    const host = runtime.hosts.get('hold-batch');
    const coldBefore = host?.coldStarts ?? 0;
    await put(
      'Fixture Held',
      Array.from({ length: 6 }, () => ({ holdMs: 300 })),
    );
    const list = await eventually(
      () => runtime.invocations.list().filter((i) => i.source === 'fixture-held'),
      (found) => found.length === 6,
      15_000,
    );
    expect(list.every((i) => i.outcome === 'ok')).toBe(true);
    expect(peakInvocations(list)).toBe(2);
    // Two sandboxes started, then reused warm: never a third for a third batch.
    expect((host?.coldStarts ?? 0) - coldBefore).toBe(2);
    expect(host?.peakConcurrency).toBe(2);
    expect(list.filter((i) => i.coldStart === false).length).toBeGreaterThanOrEqual(4);
  });

  it("reports one record's failure in a parallel batch alone, and the others succeed", async () => {
    await put('Fixture Held In Batches', [
      { holdMs: 400 },
      { holdMs: 400, fail: true },
      { holdMs: 400 },
      { holdMs: 400 },
    ]);
    const list = await eventually(
      () => runtime.invocations.list().filter((i) => i.source === 'fixture-held-in-batches'),
      (found) => found.length >= 1 && runtime.deadLetters.list().length === 1,
      15_000,
    );
    const records = list.reduce((sum, i) => sum + Number(/^(\d+) record/.exec(i.detail)?.[1] ?? 0), 0);
    const failed = list.reduce((sum, i) => sum + Number(/, (\d+) failed/.exec(i.detail)?.[1] ?? 0), 0);
    expect(records).toBe(4);
    // In parallel: one after another the batch could not take less than 4 × 400 ms.
    expect(list.length).toBe(1);
    expect(list[0]?.durationMs).toBeLessThan(1600);
    expect(failed).toBe(1);
    const [letter] = runtime.deadLetters.list();
    expect(letter?.payload).toMatchObject({ detail: { fail: true } });
  });
});

describe("the product's queues", () => {
  it('run one batch at a time while their idempotency records are in the sandbox, else maxConcurrency', async () => {
    const product = await startQuietRuntime();
    try {
      const concurrency = Object.fromEntries(product.queues.map((q) => [q.name, q.maxConcurrency]));
      const inProcess = (name: string) =>
        product.hosts.get(name)?.environment.IDEMPOTENCY_TABLE_NAME === 'in-process';
      for (const name of ['lead-sync', 'integration-commands']) {
        const queue = product.queues.find((q) => q.name.startsWith(`${name}-`));
        expect(queue?.maxConcurrency).toBe(inProcess(name) ? 1 : 2);
      }
      // Its stores in DynamoDB already: the sweep's continuations run as many as declared.
      expect(concurrency['stale-deals-stale-sweep-continued']).toBe(2);
    } finally {
      await product.close();
    }
  });
});
