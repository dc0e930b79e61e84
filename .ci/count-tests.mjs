// Prints "<passed> <failed>" from vitest's JSON report; suites that failed to load count as failed.
// With --failures, prints instead each failed test (file, name, the first lines of its message), so
// the end of a CI log says what failed without scrolling back through the reporters' output.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const listFailures = args.includes('--failures');
const report = JSON.parse(readFileSync(args.filter((arg) => arg !== '--failures')[0], 'utf8'));
const files = report.testResults ?? [];

if (listFailures) {
  for (const file of files) {
    const name = file.name.replace(`${process.cwd()}/`, '');
    const failedTests = (file.assertionResults ?? []).filter((test) => test.status === 'failed');
    if (file.status === 'failed' && failedTests.length === 0) {
      process.stdout.write(`FAILED ${name} (set-up): ${firstLines(file.message)}\n`);
    }
    for (const test of failedTests) {
      process.stdout.write(
        `FAILED ${name} > ${test.fullName}: ${firstLines((test.failureMessages ?? []).join('\n'))}\n`,
      );
    }
  }
  process.exit(0);
}

// A file whose set-up failed (a beforeAll hook) has no failed test of its own: it counts as one.
const failedSetUps = files.filter(
  (file) => file.status === 'failed' && !file.assertionResults?.some((test) => test.status === 'failed'),
).length;
const failed = report.numFailedTests + Math.max(report.numRuntimeErrorTestSuites ?? 0, failedSetUps);
process.stdout.write(`${report.numPassedTests} ${failed}\n`);

function firstLines(text = '') {
  return text.split('\n').slice(0, 6).join(' | ').slice(0, 1200);
}
