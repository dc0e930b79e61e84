import { describe, expect, it } from 'vitest';
import { asPercentage, asStatusRole, toLead } from '#functions/lead-ingest/mapping.ts';
import { fromFlatObject } from '#functions/lead-ingest/providers.ts';
import type { FieldMapping, LeadField } from '#shared/leads/field-mapping.ts';

/**
 * Form fields mapped onto every writable opportunity field: each parsed to its type and bounds,
 * a value that does not parse dropped (and named) while the lead is still accepted, and none of
 * them ever guessed from a label.
 */
const receivedAt = new Date('2026-11-29T12:00:00Z');
const mapping: FieldMapping = {
  form: {
    '*': {
      finalAmount: 'final',
      risk: 'risk_level',
      priority: 'prio',
      featuredNotes: 'notes_for_sales',
      nextStep: 'next',
      actualCloseDate: 'closed_on',
      closeProbability: 'chance',
      status: 'stage',
    },
  },
};
const map = (body: Record<string, unknown>, withMapping: FieldMapping = mapping) => {
  const dropped: LeadField[] = [];
  const lead = toLead(fromFlatObject('form', { email: 'ada@analytical.example.com', ...body }), {
    mapping: withMapping,
    submissionIdFallback: 'sha256:x',
    receivedAt,
    dropped,
  });
  return { lead, dropped };
};

describe('mapped opportunity fields', () => {
  it('each lands on the lead, parsed', () => {
    const { lead, dropped } = map({
      final: '$45,000',
      risk_level: ' Low ',
      prio: 'High',
      notes_for_sales: 'Key decision maker is the CTO',
      next: 'FollowUp',
      closed_on: '2024-03-10T01:00:00+01:00',
      chance: '75 %',
      stage: 'Won',
    });
    expect(lead.opportunity).toMatchObject({
      finalAmount: 45_000,
      risk: 'Low',
      priority: 'High',
      featuredNotes: 'Key decision maker is the CTO',
      nextStep: 'FollowUp',
      actualCloseDate: '2024-03-10T00:00:00.000Z',
      closeProbability: 75,
      status: 'won',
    });
    expect(dropped).toEqual([]);
  });

  it.each([
    ['finalAmount', { final: 'a lot' }],
    ['risk', { risk_level: 'x'.repeat(101) }],
    ['priority', { prio: 'p'.repeat(101) }],
    ['featuredNotes', { notes_for_sales: Array.from({ length: 6 }, () => 'n'.repeat(1000)) }],
    ['nextStep', { next: 's'.repeat(256) }],
    ['actualCloseDate', { closed_on: 'next week' }],
    ['closeProbability', { chance: '150%' }],
    ['closeProbability', { chance: -3 }],
    ['status', { stage: 'closed' }],
  ] as const)('a %s that does not parse is dropped and named; the lead is accepted', (field, body) => {
    const { lead, dropped } = map(body);
    expect(lead.opportunity).not.toHaveProperty(field);
    expect(dropped).toEqual([field]);
    // Kept as submitted, for a person to read.
    expect(Object.keys(lead.fields)).toEqual(expect.arrayContaining(['email', ...Object.keys(body)]));
  });

  it('is never guessed from a label: without a mapping, "Risk" or "Next step" stay raw fields', () => {
    const { lead } = map({ Risk: 'Low', 'Next step': 'Call', 'Close probability': '50', Status: 'won' }, {});
    expect(lead.opportunity).toEqual({});
    expect(lead.fields).toMatchObject({ Risk: 'Low', 'Next step': 'Call' });
  });

  it("a form's close date is still the target date, not Salescaling's closeDate", () => {
    const { lead } = map({ 'Close date': '2027-01-15' }, {});
    expect(lead.opportunity).toEqual({ targetDate: '2027-01-15T00:00:00.000Z' });
  });
});

describe('asPercentage', () => {
  it.each([
    ['0', 0],
    ['100', 100],
    ['75%', 75],
    ['12.5 %', 12.5],
    [42, 42],
    [' 7 ', 7],
  ] as const)('%j → %j', (input, expected) => expect(asPercentage(input)).toBe(expected));
  it.each(['101', '-1', '1e2', '50 percent', '', '%', '.5', '5.', 'NaN', Number.NaN, 1000, true, null])(
    '%j → undefined',
    (input) => expect(asPercentage(input as never)).toBeUndefined(),
  );
});

describe('asStatusRole', () => {
  it.each([
    ['open', 'open'],
    ['WON', 'won'],
    [' Lost ', 'lost'],
  ] as const)('%j → %j', (input, expected) => expect(asStatusRole(input)).toBe(expected));
  it.each(['closed', 'opened', '', 'won lost', 1, ['won', 'lost']])('%j → undefined', (input) =>
    expect(asStatusRole(input as never)).toBeUndefined(),
  );
});
