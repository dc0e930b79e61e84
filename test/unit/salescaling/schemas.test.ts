import { describe, expect, it } from 'vitest';
import {
  contactWriteSchema,
  envelopeSchema,
  fieldIssues,
  opportunitySchema,
  opportunityWriteSchema,
} from '#shared/salescaling/schemas.ts';

describe('reading is tolerant', () => {
  it('keeps unknown enum values, extra fields and nulls', () => {
    const parsed = opportunitySchema.parse({
      id: '5516cd47-2bd0-4f4f-adc2-22524e54ba4d',
      name: null,
      status: 'closed-won-pending-legal',
      risk: 'Catastrophic',
      brandNewField: { nested: true },
    });
    expect(parsed).toMatchObject({ status: 'closed-won-pending-legal', risk: 'Catastrophic', name: null });
    expect(parsed).toHaveProperty('brandNewField', { nested: true });
  });

  it('reads numeric strings as numbers', () => {
    const parsed = opportunitySchema.parse({ id: '5516cd47-2bd0-4f4f-adc2-22524e54ba4d', amount: '50000' });
    expect(parsed.amount).toBe(50_000);
  });

  it('accepts the documented envelope, whose success examples carry "error": "text"', () => {
    expect(envelopeSchema.parse({ statusCode: 200, count: 1, error: 'text', data: true }).data).toBe(true);
  });
});

describe('writing is strict about what it sends', () => {
  it('strips unknown fields and normalises dates to ISO UTC with milliseconds', () => {
    const body = opportunityWriteSchema.parse({
      name: '  Deal  ',
      closeDate: '2024-03-10',
      id: 'should-not-be-sent',
      createdAt: '2024-01-01T00:00:00.000Z',
    });
    expect(body).toEqual({ name: 'Deal', closeDate: '2024-03-10T00:00:00.000Z' });
  });

  it('accepts a date-time with an offset and a Date', () => {
    expect(
      opportunityWriteSchema.parse({ name: 'x', closeDate: '2024-03-10T02:00:00+02:00' }).closeDate,
    ).toBe('2024-03-10T00:00:00.000Z');
    expect(opportunityWriteSchema.parse({ name: 'x', closeDate: new Date(0) }).closeDate).toBe(
      '1970-01-01T00:00:00.000Z',
    );
  });

  it('names every offending field', () => {
    const result = opportunityWriteSchema.safeParse({ name: '', closeProbability: 150, amount: Number.NaN });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(
      fieldIssues(result.error)
        .map((issue) => issue.field)
        .sort(),
    ).toEqual(['amount', 'closeProbability', 'name']);
  });

  it('refuses a contact with neither email nor name', () => {
    const result = contactWriteSchema.safeParse({ phone: '+1 555 0100' });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(fieldIssues(result.error)[0]?.field).toBe('email');
  });
});
