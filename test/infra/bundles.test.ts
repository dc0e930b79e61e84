import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { synthStack } from '#test/support/synth.ts';

/**
 * What Lambda will run: each function's bundle, loaded in Node 24 with no environment. It must
 * resolve every import (a bundler can miss a run-time require) and stop only at the configuration
 * check — or, for a function that needs none, load cleanly.
 */
const run = promisify(execFile);
const { app } = synthStack(catalog);
const outdir = app.synth().directory;
const bundles = readdirSync(outdir)
  .filter((name) => name.startsWith('asset.') && existsSync(join(outdir, name, 'index.mjs')))
  .map((name) => join(outdir, name, 'index.mjs'));

describe('function bundles', () => {
  it('there is one per function', () => {
    expect(bundles).toHaveLength(catalog.length);
  });

  it.each(bundles.map((bundle) => [bundle.split('/').at(-2)?.slice(0, 14) ?? bundle, bundle]))(
    '%s loads',
    async (_, bundle) => {
      const script = `import(${JSON.stringify(bundle)}).then(() => console.log('LOADED'), (e) => console.log(e.name + ': ' + e.message))`;
      const { stdout } = await run(process.execPath, ['-e', script], {
        env: { PATH: process.env.PATH ?? '' },
        cwd: outdir,
      });
      expect(stdout.trim()).toMatch(/^(LOADED|ConfigurationError: Invalid configuration: )/);
    },
  );
});
