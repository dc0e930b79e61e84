import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { LOCAL_VARIABLES } from '#local/runtime/config.ts';

it("docs/local-runtime.md's variable table names every variable npm start reads", () => {
  const docs = readFileSync('docs/local-runtime.md', 'utf8');
  const table = docs.slice(docs.indexOf('| Variable'));
  const rows = table.slice(0, table.indexOf('\n\n'));
  const documented = new Set([...rows.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]));
  expect(LOCAL_VARIABLES.length).toBeGreaterThan(10);
  expect(LOCAL_VARIABLES.filter((name) => !documented.has(name))).toEqual([]);
});
