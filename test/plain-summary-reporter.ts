// Ends the run with one plain line, "N passed, N failed, N skipped", that any CI log
// reader understands (vitest's own summary is coloured and laid out for people).
import type { Reporter, TestModule } from 'vitest/node';

export default class PlainSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else counts.skipped++;
      }
    }
    counts.failed += unhandledErrors.length;
    // A file whose set-up failed (beforeAll, an import) leaves its tests "skipped": say so.
    const broken = testModules.filter(
      (module) => module.state() === 'failed' && ![...module.children.allTests()].some((test) => test.result().state === 'failed'),
    );
    const suites = broken.length
      ? `, ${broken.length} file${broken.length > 1 ? 's' : ''} failed to set up (${broken.map((m) => m.moduleId.split('/').slice(-2).join('/')).join(', ')})`
      : '';
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${suites}\n`);
  }
}
