import { defineConfig } from 'vitest/config'
import { fileURLToPath } from 'node:url'

const src = (path: string) => fileURLToPath(new URL(`./src/${path}`, import.meta.url))

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@lazydb\/core$/, replacement: src('index.ts') },
      {
        find: /^@lazydb\/core\/(neon|planetscale|libsql|pg|mysql2|postgres)$/,
        replacement: src('drivers/$1/index.ts'),
      },
      { find: /^@lazydb\/core\/otel$/, replacement: src('tracing/otel.ts') },
      { find: /^@lazydb\/core\/migrate$/, replacement: src('migrate/index.ts') },
      {
        find: /^@lazydb\/core\/(aws-lambda|cloudflare|vercel|netlify|hono|node)$/,
        replacement: src('platforms/$1.ts'),
      },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
