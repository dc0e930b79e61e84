// Prints "<passed> <failed>" from vitest's JSON report; suites that failed to load count as failed.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const failed = report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0);
process.stdout.write(`${report.numPassedTests} ${failed}\n`);
