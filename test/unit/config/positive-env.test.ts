import { afterEach, describe, expect, it } from 'vitest';
import { positiveNumberFromEnv } from '#shared/config/positive-env.ts';

const NAME = 'TEST_POSITIVE_SETTING';

describe('positiveNumberFromEnv', () => {
  afterEach(() => {
    delete process.env[NAME];
  });

  it('uses the fallback when the variable is unset or empty', () => {
    expect(positiveNumberFromEnv(NAME, 7)).toBe(7);
    process.env[NAME] = '';
    expect(positiveNumberFromEnv(NAME, 7)).toBe(7);
  });

  it('reads a positive number, or a whole one when asked', () => {
    process.env[NAME] = '2.5';
    expect(positiveNumberFromEnv(NAME, 7)).toBe(2.5);
    process.env[NAME] = '1000';
    expect(positiveNumberFromEnv(NAME, 7, { integer: true })).toBe(1000);
  });

  it.each([
    ['abc', {}, 'must be a positive number (got "abc")'],
    ['0', {}, 'must be a positive number (got "0")'],
    ['-3', { integer: true }, 'must be a positive integer (got "-3")'],
    ['2.5', { integer: true }, 'must be a positive integer (got "2.5")'],
  ])('names the variable when it holds %s', (value, options, message) => {
    process.env[NAME] = value;
    expect(() => positiveNumberFromEnv(NAME, 7, options)).toThrow(`${NAME} ${message}`);
  });
});
