// Builds dist/: one ESM file per public entry (the main entry, each driver and platform subpath),
// with the code they share split into chunks so every subpath sees the same module instances;
// packages stay external (a bundler can still drop unused drivers). Plus .d.ts files (tsc).
// Few files matter: Node 20 spends about a millisecond resolving each module at import.
import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const sources = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  )

rmSync('dist', { recursive: true, force: true })
const entries = ['src/index.ts', ...sources('src/drivers').filter((f) => /\/(neon|planetscale|libsql)\.ts$/.test(f)), ...sources('src/platforms')]
await build({
  entryPoints: entries,
  outdir: 'dist',
  outbase: 'src',
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  packages: 'external',
  external: ['node:*'],
  sourcemap: false,
  logLevel: 'warning',
})
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
console.log(`built dist/: ${entries.length} entries from ${sources('src').length} source files`)
