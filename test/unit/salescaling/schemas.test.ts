import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  boundFieldIssues,
  contactWriteSchema,
  envelopeSchema,
  FIELD_ISSUE_LIMITS,
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

describe('field issues are bounded, whatever the input', () => {
  it('clips the message that lists every unknown key (zod names them all)', () => {
    const keys = Array.from({ length: 51_000 }, (_, i) => `k${i.toString(36).padStart(3, '0')}`);
    const result = z.strictObject({ name: z.string() }).safeParse({
      name: 'x',
      ...Object.fromEntries(keys.map((key) => [key, 1])),
    });
    expect(result.success).toBe(false);
    if (result.success) return;
    expect(result.error.issues[0]?.message.length).toBeGreaterThan(200_000);
    const issues = fieldIssues(result.error);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toHaveLength(FIELD_ISSUE_LIMITS.message);
    expect(issues[0]?.message).toMatch(/^Unrecognized keys: .*…$/);
  });

  it('keeps at most 20 issues, the last counting the rest', () => {
    const shape = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, z.number()]));
    const result = z.object(shape).safeParse({});
    expect(result.success).toBe(false);
    if (result.success) return;
    const issues = fieldIssues(result.error);
    expect(issues).toHaveLength(FIELD_ISSUE_LIMITS.issues);
    expect(issues.slice(0, 3).map((issue) => issue.field)).toEqual(['f0', 'f1', 'f2']);
    expect(issues.at(-1)).toEqual({ field: '(more)', message: '81 more issues not listed' });
  });

  it('clips a path made of huge keys, segment by segment', () => {
    const key = 'k'.repeat(100_000);
    const result = z
      .record(z.string(), z.record(z.string(), z.number()))
      .safeParse({ [key]: { [key]: 'x' } });
    expect(result.success).toBe(false);
    if (result.success) return;
    const [issue] = fieldIssues(result.error);
    expect(issue?.field.length).toBe(FIELD_ISSUE_LIMITS.field);
    expect(issue?.field).toMatch(/^k+…$/);
  });

  it('bounds issues that came from elsewhere (a Salescaling 422) the same way, and leaves small ones as they are', () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ field: `f${i}`, message: 'm'.repeat(1000) }));
    const bounded = boundFieldIssues(many);
    expect(bounded).toHaveLength(20);
    expect(bounded[0]?.message).toHaveLength(FIELD_ISSUE_LIMITS.message);
    expect(bounded.at(-1)).toEqual({ field: '(more)', message: '6 more issues not listed' });
    expect(boundFieldIssues([{ field: 'email', message: 'Invalid email' }])).toEqual([
      { field: 'email', message: 'Invalid email' },
    ]);
  });
});
