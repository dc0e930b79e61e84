import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderSettingsReference, settingDescriptions, settingRows } from '#infra/settings-reference.ts';

describe('the stage settings reference', () => {
  it('docs/configuration.md is the schema as generated (run `npm run docs:config` after changing a setting)', () => {
    expect(readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')).toBe(
      renderSettingsReference(),
    );
  });

  it('describes every setting, and only settings that exist', () => {
    const paths = settingRows().map((row) => row.path);
    expect(paths.filter((path) => !settingDescriptions[path])).toEqual([]);
    expect(Object.keys(settingDescriptions).filter((path) => !paths.includes(path))).toEqual([]);
  });
});
