import { writeFileSync } from 'node:fs';
import { renderSettingsReference } from '#infra/settings-reference.ts';

/** `npm run docs:config`: regenerates docs/configuration.md from the stage settings schema. */
writeFileSync(new URL('../../docs/configuration.md', import.meta.url), renderSettingsReference());
console.info('docs/configuration.md written');
