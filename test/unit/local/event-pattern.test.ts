import { describe, expect, it } from 'vitest';
import { assertSupportedPattern, matchesPattern } from '#local/runtime/event-pattern.ts';

const event = {
  source: 'salescaling.automation',
  'detail-type': 'Lead Received',
  detail: { provider: 'typeform', amount: 1200, tags: ['web', 'eu'], email: 'Ada@Example.COM', note: null },
};

describe('EventBridge pattern matching', () => {
  it.each([
    [{ source: ['salescaling.automation'] }, true],
    [{ source: ['other', 'salescaling.automation'] }, true],
    [{ source: ['other'] }, false],
    [{ detail: { provider: ['typeform'], amount: [1200] } }, true],
    [{ detail: { tags: ['eu'] } }, true],
    [{ detail: { tags: ['us'] } }, false],
    [{ detail: { note: [null] } }, true],
    [{ detail: { provider: [{ prefix: 'type' }] } }, true],
    [{ detail: { provider: [{ suffix: 'form' }] } }, true],
    [{ detail: { email: [{ 'equals-ignore-case': 'ada@example.com' }] } }, true],
    [{ detail: { email: [{ suffix: { 'equals-ignore-case': '@example.com' } }] } }, true],
    [{ detail: { email: [{ wildcard: '*@Example.*' }] } }, true],
    [{ detail: { provider: [{ 'anything-but': ['webflow', 'tally'] }] } }, true],
    [{ detail: { provider: [{ 'anything-but': 'typeform' }] } }, false],
    [{ detail: { provider: [{ 'anything-but': { prefix: 'type' } }] } }, false],
    [{ detail: { amount: [{ numeric: ['>', 1000, '<=', 1200] }] } }, true],
    [{ detail: { amount: [{ numeric: ['<', 1000] }] } }, false],
    [{ detail: { missing: [{ exists: false }] } }, true],
    [{ detail: { provider: [{ exists: true }] } }, true],
    [{ detail: { missing: [{ exists: true }] } }, false],
    [{ detail: { missing: ['x'] } }, false],
    [{ detail: { provider: { nested: ['x'] } } }, false],
    [{ $or: [{ source: ['nope'] }, { detail: { amount: [1200] } }] }, true],
    [{ $or: [{ source: ['nope'] }, { detail: { amount: [1] } }] }, false],
  ])('%j → %s', (pattern, expected) => {
    assertSupportedPattern(pattern);
    expect(matchesPattern(pattern, event)).toBe(expected);
  });

  it.each([
    [{ source: [{ cidr: '10.0.0.0/24' }] }, /does not support/],
    [{ source: [] }, /empty list/],
    [{ source: 'x' }, /list of matchers/],
    [{ detail: { n: [{ numeric: ['~', 1] }] } }, /invalid comparison/],
    [{ $or: [{ source: ['x'] }] }, /at least two/],
  ])('refuses %j', (pattern, message) => {
    expect(() => assertSupportedPattern(pattern)).toThrow(message);
  });
});
