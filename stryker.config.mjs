// Mutation testing of the lifecycle core: `npm run mutate` (not part of CI; about 30 minutes on 2 cores).
// The test subset is the one that covers these files: the lifecycle regression suite and the unit suite.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: [
    'src/client-slot.ts',
    'src/warm-client.ts',
    'src/warm-cache.ts',
    'src/database-runtime.ts',
    'src/transaction.ts',
    'src/invocation.ts',
    'src/invocation-lifecycle.ts',
    'src/registry-hold.ts',
    'src/retries.ts',
  ],
  // Message and log text is checked by its own tests; mutating every string would double the run
  // for no lifecycle signal.
  mutator: { excludedMutations: ['StringLiteral'] },
  ignoreStatic: true,
  concurrency: 4,
  timeoutMS: 10_000,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // Later runs re-test only the mutants whose code or covering tests changed (`npm run mutate -- --force`: all).
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
}
