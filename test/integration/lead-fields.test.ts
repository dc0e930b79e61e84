import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmulatorAdmin } from '#local/emulator/admin-client.ts';
import { type RunningEmulator, startEmulator } from '#local/emulator/server.ts';
import type { LocalRuntime } from '#local/runtime/runtime.ts';
import { startQuietRuntime } from '#local/tools/system.ts';
import type { FieldMapping } from '#shared/leads/field-mapping.ts';
import { eventually } from '#test/support/eventually.ts';

/**
 * A form's fields, mapped by the stage's `leads.fieldMapping` onto every writable opportunity
 * field, land on the opportunity lead sync creates: lead-ingest and lead-sync as deployed, against
 * the emulator over HTTP. A mapped value that does not parse is left out, with a warning naming it.
 */
let emulator: RunningEmulator;
let admin: EmulatorAdmin;
let runtime: LocalRuntime;
const output: string[] = [];
const KEY = 'sk-lead-fields-1a2b3c';
const statuses = { open: 'Open deal', won: 'Closed won', lost: 'Closed lost' };
const mapping: FieldMapping = {
  form: {
    '*': {
      opportunityName: 'deal',
      amount: 'budget',
      finalAmount: 'final',
      risk: 'risk_level',
      priority: 'prio',
      description: 'message',
      featuredNotes: 'notes_for_sales',
      nextStep: 'next',
      actualCloseDate: 'closed_on',
      closeProbability: 'chance',
      status: 'stage',
    },
  },
};

beforeAll(async () => {
  emulator = await startEmulator({ apiKeys: [KEY] });
  admin = new EmulatorAdmin(emulator.url);
  runtime = await startQuietRuntime({
    platform: {
      salescalingBaseUrl: emulator.apiBaseUrl,
      salescalingMaxRps: 200,
      salescalingMaxConcurrency: 8,
      logLevel: 'WARN',
    },
    secrets: { salescalingApiKey: KEY },
    settings: { leadFieldMapping: JSON.stringify(mapping), opportunityStatuses: JSON.stringify(statuses) },
    queueRetryDelayMs: 20,
    functionOutput: (line) => output.push(line),
  });
});
beforeEach(async () => {
  await admin.reset();
  runtime.bus.events.clear();
  output.length = 0;
});
afterAll(async () => {
  await runtime?.close();
  await emulator?.close();
});

async function postLead(body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${runtime.url}/leads`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { id: string }).id;
}

const createdFor = (submissionId: string) =>
  eventually(
    () =>
      runtime.bus.events
        .list()
        .find(
          (e) =>
            e['detail-type'] === 'Opportunity Created' &&
            (e.detail as { submissionId?: string }).submissionId === submissionId,
        ),
    (e) => e !== undefined,
  ).then((e) => ((e?.detail ?? {}) as { opportunityId?: string }).opportunityId ?? '');

describe('mapped form fields, deployed', () => {
  it('every writable field lands on the opportunity, the status as the stage names it', async () => {
    const id = await postLead({
      submissionId: 'fields-1',
      email: 'ada@analytical.example.com',
      deal: 'Analytical Engines – 500 seats',
      budget: '$50,000',
      final: '45000',
      risk_level: 'Low',
      prio: 'High',
      message: 'Enterprise software license for 500 users',
      notes_for_sales: 'Key decision maker is the CTO',
      next: 'FollowUp',
      closed_on: '2024-03-10T00:00:00.000Z',
      chance: '75%',
      stage: 'won',
    });
    const opportunityId = await createdFor(id);
    expect(emulator.store.getOpportunity(opportunityId)).toMatchObject({
      name: 'Analytical Engines – 500 seats',
      amount: 50_000,
      finalAmount: 45_000,
      risk: 'Low',
      priority: 'High',
      description: 'Enterprise software license for 500 users',
      featuredNotes: 'Key decision maker is the CTO',
      nextStep: 'FollowUp',
      closeDate: '2024-03-10T00:00:00.000Z',
      closeProbability: 75,
      status: 'Closed won',
    });
  });

  it('a mapped value that does not parse is left out, named in a warning; the rest lands', async () => {
    const id = await postLead({
      submissionId: 'fields-2',
      email: 'grace@cobol.example.org',
      deal: 'Cobol – pilot',
      chance: 'very likely',
      stage: 'maybe',
      prio: 'Low',
    });
    const opportunityId = await createdFor(id);
    const opportunity = emulator.store.getOpportunity(opportunityId);
    expect(opportunity).toMatchObject({ priority: 'Low', status: 'Open deal' });
    expect(opportunity?.closeProbability ?? null).toBeNull();
    const warning = await eventually(
      () => output.find((line) => line.includes('Mapped form fields dropped')),
      (line) => line !== undefined,
    );
    expect(warning).toContain('closeProbability');
    expect(warning).toContain('status');
    // Names only: the submitter's values stay out of the logs.
    expect(warning).not.toContain('very likely');
  });
});
