import { describe, expect, it } from 'vitest';
import { nestingDepth } from '#local/runtime/event-bus.ts';
import { isCrossSite, isFromThisMachine, isLoopbackHost } from '#local/runtime/guards.ts';

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1:3000', true],
    ['127.0.0.1', true],
    ['localhost:3000', true],
    ['LOCALHOST:3000', true],
    ['[::1]:3000', true],
    ['127.0.0.1:3001', false],
    ['evil.example:3000', false],
    ['127.0.0.1.evil.example:3000', false],
    ['localhost.evil.example', false],
    ['::1', false],
    ['', false],
    [undefined, false],
  ])('%s → %s (runtime on 127.0.0.1:3000)', (host, expected) => {
    expect(isLoopbackHost(host, 3000, '127.0.0.1')).toBe(expected);
  });

  it('also accepts the configured host, unless it is a wildcard', () => {
    expect(isLoopbackHost('192.168.1.5:3000', 3000, '192.168.1.5')).toBe(true);
    expect(isLoopbackHost('0.0.0.0:3000', 3000, '0.0.0.0')).toBe(false);
    expect(isLoopbackHost('evil.example:3000', 3000, '0.0.0.0')).toBe(false);
  });
});

describe('isFromThisMachine', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.5', '127.0.0.1', true],
    ['::1', '::1', true],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1', true],
    // This machine calling its own LAN address: the source is that address.
    ['192.0.2.2', '192.0.2.2', true],
    ['::ffff:192.0.2.2', '::ffff:192.0.2.2', true],
    // Another machine, whatever Host it claims.
    ['192.0.2.9', '192.0.2.2', false],
    ['::ffff:192.0.2.9', '::ffff:192.0.2.2', false],
    ['fd00::9', 'fd00::2', false],
    [undefined, '127.0.0.1', false],
  ])('a connection from %s to %s → %s', (remoteAddress, localAddress, expected) => {
    expect(isFromThisMachine({ remoteAddress, localAddress })).toBe(expected);
  });
});

describe('isCrossSite', () => {
  it.each([
    [{}, false],
    [{ origin: 'http://127.0.0.1:3000' }, false],
    [{ origin: 'http://localhost:3000' }, false],
    [{ origin: 'https://evil.example' }, true],
    [{ origin: 'null' }, true],
    [{ origin: 'not a url' }, true],
    [{ 'sec-fetch-site': 'cross-site' }, true],
  ])('%o → %s', (headers, expected) => {
    expect(isCrossSite(headers, 3000, '127.0.0.1')).toBe(expected);
  });
});

describe('nestingDepth', () => {
  it.each([
    ['{}', 1],
    ['{"a":[1,{"b":2}]}', 3],
    ['{"a":"[[[[{{{{"}', 1],
    ['{"a":"\\"[[["}', 1],
    ['[]', 1],
    ['1', 0],
  ])('%s → %d', (json, depth) => {
    expect(nestingDepth(json)).toBe(depth);
  });

  it('is linear: 100 KB of brackets in well under a second', () => {
    const started = performance.now();
    expect(nestingDepth('['.repeat(100_000))).toBe(100_000);
    expect(performance.now() - started).toBeLessThan(200);
  });
});
