import { afterEach, describe, expect, it, vi } from 'vitest';
import { appendRecordKeys, logger, withRecordKeys } from '#shared/observability/logger.ts';

/** Records of a batch run at once: each one's lines carry its own keys, never a neighbour's. */
const lines: Record<string, unknown>[] = [];

afterEach(() => {
  vi.restoreAllMocks();
  lines.length = 0;
});

function capture() {
  // Powertools writes INFO to stdout and WARN to stderr.
  for (const stream of [process.stdout, process.stderr])
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      return true;
    });
}

describe('withRecordKeys', () => {
  it("keeps each concurrent record's keys on its own lines", async () => {
    capture();
    let releaseA: () => void = () => undefined;
    const aWaits = new Promise<void>((resolve) => {
      releaseA = resolve;
    });
    const a = withRecordKeys({}, async () => {
      appendRecordKeys({ submissionId: 'lead-a' });
      await aWaits;
      // Logged after b has set its own keys and logged: still a's.
      logger.warn('Salescaling request failed, retrying', { attempt: 2 });
    });
    const b = withRecordKeys({}, async () => {
      appendRecordKeys({ submissionId: 'lead-b' });
      logger.info('Lead synced');
      releaseA();
    });
    await Promise.all([a, b]);
    logger.info('Outside any record');
    expect(lines.map((l) => [l.message, l.submissionId])).toEqual([
      ['Lead synced', 'lead-b'],
      ['Salescaling request failed, retrying', 'lead-a'],
      ['Outside any record', undefined],
    ]);
    expect(lines[1]).toMatchObject({ attempt: 2 });
  });
});
