import { describe, expect, it } from 'vitest';
import { journeyOf } from '#local/runtime/console/journey.ts';
import {
  type ActivityInput,
  ActivityRecorder,
  MAX_FIELD_CHARS,
  refsOf,
} from '#local/runtime/console/recorder.ts';

const input = (over: Partial<ActivityInput> = {}): ActivityInput => ({
  kind: 'bus',
  title: 't',
  status: 'ok',
  refs: {},
  data: {},
  ...over,
});

describe('the activity recorder', () => {
  it('keeps the newest records up to its capacity, numbered in order', () => {
    const recorder = new ActivityRecorder(3);
    for (let i = 0; i < 5; i++) recorder.add(input({ title: `r${i}` }));
    expect(recorder.list().map((a) => [a.seq, a.title])).toEqual([
      [3, 'r2'],
      [4, 'r3'],
      [5, 'r4'],
    ]);
  });

  it('clips every string it keeps, so one record is small whatever it was given', () => {
    const recorder = new ActivityRecorder();
    const huge = 'x'.repeat(1_000_000);
    const record = recorder.add(
      input({ title: huge, status: huge, refs: { submissionId: huge }, data: { body: huge, detail: huge } }),
    );
    expect(JSON.stringify(record).length).toBeLessThan(3 * MAX_FIELD_CHARS + 2_000);
    expect(record.data.body).toMatch(/… \(998000 more characters\)$/);
  });

  it('tells subscribers of each record as it is added, until they leave', () => {
    const recorder = new ActivityRecorder();
    const seen: number[] = [];
    const leave = recorder.subscribe((a) => seen.push(a.seq));
    recorder.add(input());
    leave();
    recorder.add(input());
    expect(seen).toEqual([1]);
  });

  it('finds the ids of an event, a command and a lead, and only walks so far', () => {
    expect(
      refsOf({
        id: 'evt-1',
        'detail-type': 'Lead Received',
        source: 'salescaling.automation',
        detail: { submissionId: 's-1', contact: { email: 'Ada@Example.com' } },
      }),
    ).toEqual({ eventId: 'evt-1', submissionId: 's-1', email: 'Ada@Example.com' });
    expect(refsOf({ id: 'cmd-1', 'detail-type': 'Close Opportunity', source: 'crm', detail: {} })).toEqual({
      eventId: 'cmd-1',
      commandId: 'cmd-1',
    });
    // Deeper than the walk goes: not found, at the same small cost.
    expect(refsOf({ a: { b: { c: { d: { e: { f: { email: 'deep@example.com' } } } } } } })).toEqual({});
    const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
    expect(refsOf({ ...wide, email: 'late@example.com' })).toEqual({});
  });
});

describe('a journey', () => {
  it('follows a lead from its request through its event and message to its result events, and no further', () => {
    const recorder = new ActivityRecorder();
    const at = 1_000_000;
    recorder.add(input({ kind: 'http', t: at, refs: { submissionId: 's-1', eventId: 'e-1' } }));
    recorder.add(
      input({ kind: 'bus', t: at + 1, refs: { submissionId: 's-1', eventId: 'e-1', email: 'a@x.com' } }),
    );
    recorder.add(
      input({
        kind: 'delivery',
        function: 'lead-sync',
        t: at + 2,
        durationMs: 50,
        refs: { eventId: 'e-1', messageId: 'm-1' },
      }),
    );
    recorder.add(input({ kind: 'salescaling', t: at + 10, data: { by: 'function' } }));
    recorder.add(input({ kind: 'salescaling', t: at + 20, data: { by: 'console' } }));
    recorder.add(input({ kind: 'salescaling', t: at + 500, data: { by: 'function' } }));
    recorder.add(
      input({
        kind: 'bus',
        t: at + 30,
        refs: { submissionId: 's-1', opportunityId: 'o-1' },
        data: { source: 'salescaling.automation' },
      }),
    );
    // In its delivery's window, but on another opportunity: a batch neighbour's call.
    recorder.add(
      input({ kind: 'salescaling', t: at + 12, refs: { opportunityId: 'o-2' }, data: { by: 'function' } }),
    );
    recorder.add(
      input({ kind: 'salescaling', t: at + 14, refs: { opportunityId: 'o-1' }, data: { by: 'function' } }),
    );
    // Another lead of the same contact: found by the email, never by following it.
    recorder.add(input({ kind: 'bus', t: at + 40, refs: { submissionId: 's-2', email: 'a@x.com' } }));
    const j = journeyOf(recorder.list(), 's-1', new Set(['lead-sync']));
    expect(j.records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 9, 7]);
    expect(j.submissionIds).toEqual(['s-1']);
    expect(j.opportunityIds).toEqual(['o-1']);
    const byEmail = journeyOf(recorder.list(), 'A@X.com', new Set(['lead-sync']));
    expect(byEmail.submissionIds).toEqual(['s-1', 's-2']);
  });
});
