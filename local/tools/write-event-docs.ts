import { writeFileSync } from 'node:fs';
import { renderEventCatalog } from '#shared/events/documentation.ts';

/** `npm run docs:events`: regenerates docs/events.md from the catalog. */
writeFileSync(new URL('../../docs/events.md', import.meta.url), renderEventCatalog());
console.info('docs/events.md written');
