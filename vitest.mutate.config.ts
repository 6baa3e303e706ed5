import { defineConfig } from 'vitest/config'
import base from './vitest.config.js'

// The suites that exercise the lifecycle files in-process (the runtime suites run dist/ in child processes,
// where a mutant in src/ would not be seen).
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/lifecycle/**/*.test.ts', 'test/unit/**/*.test.ts'] },
})
