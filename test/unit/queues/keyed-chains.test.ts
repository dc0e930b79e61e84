import { describe, expect, it } from 'vitest';
import { commandChainKeys } from '#functions/integration-commands/commands.ts';
import { leadChainKeys } from '#functions/lead-sync/process.ts';
import { keyedChains } from '#shared/queues/keyed-chains.ts';

/** A task that runs only when released, recording when it started. */
function gate(log: string[], name: string) {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    release: () => release(),
    work: async () => {
      log.push(`start ${name}`);
      await released;
      log.push(`end ${name}`);
      return name;
    },
  };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('keyedChains', () => {
  it('runs records with no shared key at once, and one sharing a key after the earlier one', async () => {
    const log: string[] = [];
    const inOrder = keyedChains();
    const a = gate(log, 'a');
    const b = gate(log, 'b');
    const c = gate(log, 'c');
    const runs = [
      inOrder(['contact:x', 'company:acme'], a.work),
      inOrder(['contact:y'], b.work),
      inOrder(['contact:z', 'company:acme'], c.work),
    ];
    await flush();
    expect(log).toEqual(['start a', 'start b']);
    a.release();
    await flush();
    expect(log).toEqual(['start a', 'start b', 'end a', 'start c']);
    b.release();
    c.release();
    expect(await Promise.all(runs)).toEqual(['a', 'b', 'c']);
  });

  it("keeps an earlier record's failure its own: the next one on the key still runs", async () => {
    const inOrder = keyedChains();
    const first = inOrder(['opportunity#1'], async () => {
      throw new Error('first failed');
    });
    const second = inOrder(['opportunity#1'], async () => 'second ran');
    await expect(first).rejects.toThrow('first failed');
    await expect(second).resolves.toBe('second ran');
  });
});

const body = (detailType: string, detail: unknown) => JSON.stringify({ 'detail-type': detailType, detail });

describe('chain keys', () => {
  it("a lead's: its contact, its company's domain and name, in one case", () => {
    const lead = {
      schemaVersion: 1,
      submissionId: 's-1',
      source: { provider: 'form' },
      submittedAt: '2026-11-29T07:00:00.000Z',
      receivedAt: '2026-11-29T07:00:00.000Z',
      contact: { email: 'Ada@Example.com' },
      company: { name: ' Analytical Engines ', domain: 'Example.com' },
      opportunity: {},
      fields: {},
    };
    const keys = leadChainKeys({ body: body('Lead Received', lead) } as never);
    expect(keys).toEqual([
      'contact:ada@example.com',
      'company-domain:example.com',
      'company-name:analytical engines',
    ]);
    expect(leadChainKeys({ body: 'not json' } as never)).toEqual([]);
  });

  it("a command's: its opportunity; every upsert one key; nothing for an unreadable body", () => {
    expect(commandChainKeys(body('Close Opportunity', { opportunityId: 'OPP-1' }))).toEqual([
      'opportunity#opp-1',
    ]);
    expect(commandChainKeys(body('Upsert Opportunity', { contact: { email: 'a@b.example' } }))).toEqual([
      'upserts',
    ]);
    expect(commandChainKeys('{')).toEqual([]);
    expect(commandChainKeys(body('Close Opportunity', { opportunityId: 7 }))).toEqual([]);
  });
});
