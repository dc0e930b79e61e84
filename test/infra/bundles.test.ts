import { execFile } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { catalog } from '#functions/catalog.ts';
import { HOUSE_ALIASES, HOUSE_BUNDLING, houseEsbuildOptions } from '#infra/constructs/house-function.ts';
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

  // An ESM import of node:http fills in its lazy WebSocket export, which loads undici: 10–20 ms of
  // CPU at every cold start (docs/performance.md). The house bundling's aliases avoid it; the
  // imports are linked before any module code runs, so a bundle stopped by its configuration check
  // has already paid it, or not.
  it.each(bundles.map((bundle) => [bundle.split('/').at(-2)?.slice(0, 14) ?? bundle, bundle]))(
    '%s loads without undici',
    async (_, bundle) => {
      const script = `import(${JSON.stringify(bundle)}).catch(() => {}).then(() => console.log(process.moduleLoadList.filter((m) => m.includes('undici')).join(',') || 'none'))`;
      const { stdout } = await run(process.execPath, ['-e', script], {
        env: { PATH: process.env.PATH ?? '' },
        cwd: outdir,
      });
      expect(stdout.trim()).toBe('none');
    },
  );

  it("a bundle built without the aliases loads undici (so the test above can fail); with them it gets Node's own http and https, patches included", async () => {
    const entry = join(outdir, 'imports-http.mjs');
    writeFileSync(
      entry,
      [
        "import { Agent, request } from 'node:http';",
        "import * as https from 'node:https';",
        // The same functions Node's own modules hold: what the Salescaling client and the SDK call.
        "export const handler = () => request === process.getBuiltinModule('node:http').request && Agent === process.getBuiltinModule('node:http').Agent && https.request === process.getBuiltinModule('node:https').request && https.Agent === process.getBuiltinModule('node:https').Agent;",
        // What a caller gets after something patches the module, as detailed tracing (X-Ray) does.
        'export const currentRequest = () => request;',
      ].join('\n'),
    );
    const built = (aliases: Record<string, string>) => {
      const outfile = join(outdir, `imports-http-${Object.keys(aliases).length}.mjs`);
      buildSync({
        ...houseEsbuildOptions(process.cwd(), { options: HOUSE_BUNDLING, aliases }),
        entryPoints: [entry],
        outfile,
        logLevel: 'silent',
      });
      return outfile;
    };
    const undici = async (bundle: string) => {
      const script = `import(${JSON.stringify(bundle)}).then((m) => { const same = m.handler(); const undici = process.moduleLoadList.some((m) => m.includes('undici')); const http = process.getBuiltinModule('node:http'); const patched = function patched() {}; http.request = patched; console.log(same, undici, m.currentRequest() === patched); })`;
      return (
        await run(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '' } })
      ).stdout.trim();
    };
    // Without the aliases an ESM binding keeps the original `request`: a patch never reaches it.
    expect(await undici(built({}))).toBe('true true false');
    expect(await undici(built(HOUSE_ALIASES))).toBe('true false true');
  });
});
