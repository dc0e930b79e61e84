import { runEmulator } from './emulator/main.ts';

/**
 * `npm start`: runs the system on this machine. For now that is the Salescaling emulator, seeded
 * with 25 generated opportunities; the local runtime for the functions joins it in a later step.
 */
runEmulator({ seed: 25 }).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
