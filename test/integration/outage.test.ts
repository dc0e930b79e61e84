import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { InvocationRecord } from '#local/runtime/records.ts';
import { type LocalSystem, startLocalSystem } from '#local/tools/system.ts';
import { eventually } from '#test/support/eventually.ts';
import { quiet } from '#test/support/quiet.ts';

/**
 * A Salescaling outage as deployed: the lead-sync handler behind the local bus and queue (which
 * honours ChangeMessageVisibility), against the emulator answering only 503, over real HTTP. The
 * stage's window is seconds here instead of hours; the handler reads real timestamps either way.
 */
let system: LocalSystem;
/** A second system whose window (3 s) an outage outlasts. */
let shortWindow: LocalSystem;
const QUEUE = 'lead-sync-lead-received';
/** The local queue's own redelivery delay: what a record without a visibility change waits. */
const QUEUE_RETRY_MS = 20;
/** The receives the queue allowed before this change: an outage past them dead-lettered the lead. */
const OLD_MAX_RECEIVE_COUNT = 5;

const start = (windowSeconds: number) =>
  startLocalSystem({
    platform: {
      salescalingMaxRps: 200,
      salescalingMaxConcurrency: 8,
      retrySchedule: { windowSeconds, baseSeconds: 1, capSeconds: 1 },
    },
    runtime: { queueRetryDelayMs: QUEUE_RETRY_MS },
  });

beforeAll(async () => {
  [system, shortWindow] = await Promise.all([start(60), start(3)]);
});

afterAll(async () => {
  await Promise.all([system?.close(), shortWindow?.close()]);
});

beforeEach(async () => {
  for (const s of [system, shortWindow]) {
    await quiet(s.runtime);
    await s.admin.reset();
    s.runtime.deadLetters.clear();
    s.runtime.invocations.clear();
  }
});

let n = 0;
async function postLead(target: LocalSystem): Promise<string> {
  n += 1;
  const submissionId = `outage-${n}`;
  const response = await fetch(`${target.runtime.url}/leads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      submissionId,
      email: `ada${n}@engines${n}.example.com`,
      firstName: 'Ada',
      lastName: 'Lovelace',
      company: `Engines ${n}`,
      opportunity: `Engines ${n} – analytical`,
      amount: 1000,
    }),
  });
  await response.arrayBuffer();
  expect(response.status).toBe(202);
  return submissionId;
}

const deliveries = (target: LocalSystem) =>
  target.runtime.invocations.list().filter((i: InvocationRecord) => i.functionName === 'lead-sync');

describe('a Salescaling outage', () => {
  it('that outlasts the old retry count dead-letters nothing: the lead is synced once after recovery', async () => {
    await system.admin.setFaults({ errorRate: 1, errorStatuses: [503] });
    await postLead(system);
    // More receives than the queue used to allow, all inside the outage.
    const failed = await eventually(
      () => deliveries(system),
      (list) => list.length > OLD_MAX_RECEIVE_COUNT,
      40_000,
    );
    expect(system.runtime.deadLetters.list()).toEqual([]);
    // Every record of the batch failed (Powertools then fails the invocation): none went through.
    expect(failed.map((i) => i.outcome)).toEqual(failed.map(() => 'error'));
    // Each redelivery waited the handler's backoff (1 s), not the queue's own 20 ms.
    const ordered = [...failed].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    for (let i = 1; i < ordered.length; i += 1) {
      const previous = ordered[i - 1] as InvocationRecord;
      const gap = Date.parse((ordered[i] as InvocationRecord).startedAt) - Date.parse(previous.startedAt);
      expect(gap - previous.durationMs).toBeGreaterThanOrEqual(900);
    }
    expect((await system.admin.requests()).every((r) => r.status === 503)).toBe(true);

    await system.admin.clearFaults();
    await eventually(
      () => system.emulator.store.stats(),
      (stats) => stats.opportunities === 1 && stats.contactLinks === 1 && stats.companyLinks === 1,
      20_000,
    );
    await eventually(
      () => system.runtime.queues.find((q) => q.name === QUEUE)?.depth ?? -1,
      (depth) => depth === 0,
    );
    expect(system.runtime.deadLetters.list()).toEqual([]);
    expect(system.emulator.store.stats()).toMatchObject({ opportunities: 1, contacts: 1, companies: 1 });
  });

  it('still dead-letters a permanent failure at once, with its reason', async () => {
    await system.admin.scriptFaults([{ fault: 'error', status: 400, operation: 'createOpportunity' }]);
    await postLead(system);
    const [letter] = await eventually(
      () => system.runtime.deadLetters.list(),
      (list) => list.length === 1,
    );
    expect(letter?.reason).toMatch(/^Salescaling refused the lead: .*createOpportunity failed: 400/);
    // Its one invocation is recorded once it returns, just after the letter was sent.
    await eventually(
      () => deliveries(system),
      (list) => list.length >= 1,
    );
    expect(deliveries(system)).toHaveLength(1);
    expect(system.runtime.queues.find((q) => q.name === QUEUE)?.depth).toBe(0);
  });

  it('dead-letters a record still failing past the window, with a reason that says so', async () => {
    await shortWindow.admin.setFaults({ errorRate: 1, errorStatuses: [503] });
    const submissionId = await postLead(shortWindow);
    const [letter] = await eventually(
      () => shortWindow.runtime.deadLetters.list(),
      (list) => list.length === 1,
      30_000,
    );
    expect(letter).toMatchObject({
      functionName: 'lead-sync',
      reason: expect.stringMatching(
        /^Still failing after \d+ s, past the 3 s outage window \(\d+ deliveries\): .*503/,
      ),
      payload: expect.objectContaining({ detail: expect.objectContaining({ submissionId }) }),
    });
    expect(shortWindow.emulator.store.stats().opportunities).toBe(0);
  });
});

describe("the local queue's ChangeMessageVisibility", () => {
  const sqs = (target: LocalSystem, functionName?: string) => {
    const env = functionName ? (target.runtime.hosts.get(functionName)?.environment ?? {}) : {};
    return new SQSClient({
      endpoint: target.runtime.url,
      region: 'us-east-1',
      maxAttempts: 1,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'outsider',
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'outsider',
      },
    });
  };
  const change = (QueueUrl: string, ReceiptHandle = 'x') =>
    new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle, VisibilityTimeout: 10 });

  it('is refused to anyone but the function that consumes the queue', async () => {
    const url = `${system.runtime.url}/000000000000/${QUEUE}`;
    await expect(sqs(system).send(change(url))).rejects.toMatchObject({ name: 'AccessDenied' });
    await expect(sqs(system, 'integration-commands').send(change(url))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    // Its consumer may call it; a handle of no message in flight is refused as SQS does.
    await expect(sqs(system, 'lead-sync').send(change(url))).rejects.toMatchObject({
      name: 'ReceiptHandleIsInvalid',
    });
  });
});
