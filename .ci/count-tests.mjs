// Prints "<passed> <failed>" from vitest's JSON report; suites that failed to load count as failed.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
// A file whose set-up failed (a beforeAll hook) has no failed test of its own: it counts as one.
const failedSetUps = (report.testResults ?? []).filter(
  (file) => file.status === 'failed' && !file.assertionResults?.some((test) => test.status === 'failed'),
).length;
const failed = report.numFailedTests + Math.max(report.numRuntimeErrorTestSuites ?? 0, failedSetUps);
process.stdout.write(`${report.numPassedTests} ${failed}\n`);
