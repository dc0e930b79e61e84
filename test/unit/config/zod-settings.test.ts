import { describe, expect, it } from 'vitest';
import * as z from 'zod';

describe('zod settings', () => {
  it('are in force once a handler imports its config loader: object schemas parse without a compiled parser', async () => {
    await import('#shared/config/load-config.ts');
    expect(z.config().jitless).toBe(true);
    // A schema built afterwards parses (and refuses) as before.
    const schema = z.object({ name: z.string().min(1) }).strict();
    expect(schema.parse({ name: 'Ada' })).toEqual({ name: 'Ada' });
    expect(schema.safeParse({ name: '', extra: 1 }).error?.issues.map((i) => i.code)).toEqual([
      'too_small',
      'unrecognized_keys',
    ]);
  });
});
