import { emulatorOptionsFromEnv } from './config.ts';
import { startEmulator } from './server.ts';

/**
 * `npm run emulator`: the Salescaling emulator alone, on EMULATOR_PORT (default 4010) of 127.0.0.1.
 * Stops cleanly on Ctrl-C / SIGTERM (a file-backed store is closed, so nothing is lost).
 */
export async function runEmulator(defaults: { seed?: number } = {}) {
  const options = emulatorOptionsFromEnv(process.env, defaults);
  const emulator = await startEmulator(options);
  const stats = emulator.store.stats();
  console.info(
    [
      `Salescaling emulator listening on ${emulator.url}`,
      `  API base URL: ${emulator.apiBaseUrl}  (x-api-key: the value of EMULATOR_API_KEY, default local-dev-key)`,
      `  Admin routes: ${emulator.url}/_emulator/{health,faults,faults/script,requests,stats,seed,reset,api-keys,semantics}`,
      `  Store: ${options.dbFile ?? 'in memory'}; ${stats.opportunities} opportunities, ${stats.contacts} contacts, ${stats.companies} companies`,
    ].join('\n'),
  );
  const stop = async (signal: string) => {
    console.info(`Received ${signal}; stopping the emulator`);
    await emulator.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  return emulator;
}

if (import.meta.main) {
  runEmulator().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
