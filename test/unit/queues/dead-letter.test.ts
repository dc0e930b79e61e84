import { describe, expect, it } from 'vitest';
import { attributeText } from '#shared/queues/dead-letter.ts';

describe("a dead letter's reason attribute", () => {
  it('keeps ordinary text, tabs and new lines, and characters beyond the BMP', () => {
    expect(attributeText('Invalid command:\tline\n😀 ñ')).toBe('Invalid command:\tline\n😀 ñ');
  });

  it('replaces what SQS refuses: control characters, U+FFFE, a lone surrogate', () => {
    expect(attributeText('a\u0000b\u001fc\ufffed\ud800e')).toBe('a\ufffdb\ufffdc\ufffdd\ufffde');
  });

  it('is at most 1,000 characters, and a pair cut by the clip becomes U+FFFD', () => {
    const clipped = attributeText(`${'x'.repeat(999)}😀`);
    expect(clipped).toHaveLength(1000);
    expect(clipped.endsWith('\ufffd')).toBe(true);
    expect(attributeText('y'.repeat(100_000))).toHaveLength(1000);
  });
});
