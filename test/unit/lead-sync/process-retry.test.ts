import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { processRecord } from '#functions/lead-sync/process.ts';
import type { FailureDecision } from '#shared/queues/retry.ts';
import { SalescalingInvalidRequestError, SalescalingServerError } from '#shared/salescaling/errors.ts';

/** lead-sync's failure path: which failures go to the queue's retry policy, and what it decides. */
const detail = {
  schemaVersion: 1,
  submissionId: 'crm-1',
  source: { provider: 'form' },
  submittedAt: '2026-11-28T09:00:00.000Z',
  receivedAt: '2026-11-28T09:00:01.000Z',
  contact: { email: 'ada@acme.com' },
  company: {},
  opportunity: { name: 'Deal', amount: 100 },
  fields: {},
};
const record = {
  messageId: 'm-1',
  body: JSON.stringify({ 'detail-type': 'Lead Received', detail }),
  attributes: { ApproximateReceiveCount: '2' },
} as unknown as SQSRecord;

function harness(failure: Error, decision: FailureDecision) {
  const letters: string[] = [];
  const asked: unknown[] = [];
  const run = () =>
    processRecord(record, {
      sync: async () => {
        throw failure;
      },
      deadLetter: async (_r, reason) => {
        letters.push(reason);
      },
      maxReceiveCount: 5,
      retry: async (_r, error) => {
        asked.push(error);
        return decision;
      },
    });
  return { letters, asked, run };
}

const outage = new SalescalingServerError('503', { operation: 'listContacts', status: 503 });

describe('lead sync when Salescaling fails', () => {
  it('asks the retry policy, and throws (the queue keeps the record) when it backs off', async () => {
    const { letters, asked, run } = harness(outage, { giveUp: false, delaySeconds: 60 });
    await expect(run()).rejects.toBe(outage);
    expect(asked).toEqual([outage]);
    expect(letters).toEqual([]);
  });

  it('dead-letters with the reason the policy gives once it gives up, and does not throw', async () => {
    const { letters, run } = harness(outage, { giveUp: true, reason: 'past the window' });
    await expect(run()).resolves.toBeUndefined();
    expect(letters).toEqual(['past the window']);
  });

  it('dead-letters a refused lead at once, without asking the retry policy', async () => {
    const refused = new SalescalingInvalidRequestError('createOpportunity failed: 400', {
      operation: 'createOpportunity',
      status: 400,
    });
    const { letters, asked, run } = harness(refused, { giveUp: false, delaySeconds: 60 });
    await expect(run()).resolves.toBeUndefined();
    expect(asked).toEqual([]);
    expect(letters).toEqual(['Salescaling refused the lead: createOpportunity failed: 400']);
  });
});
