// Builds dist/: the main entry as one ESM file holding the whole core, and one file per driver and
// platform subpath that bundles its own code and imports the core from '../index.js', so every
// subpath shares the core's module instances (Database, LazyDbError, the driver table). Packages stay
// external (a bundler can still drop unused drivers). Plus .d.ts files (tsc).
// Few files matter: Node 20 spends about a millisecond resolving and linking each module at import.
import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { readdirSync, rmSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const sources = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  )

const SRC = resolve('src')
// Core modules that live under src/drivers/ and src/platforms/: the driver contract and table every
// subpath registers into, and the platform knowledge the core's handler uses.
const CORE_OUTSIDE_ROOT = new Set(['drivers/contract.ts', 'drivers/driver-table.ts', 'platforms/vercel-context.ts'])
const isCore = (file) => {
  const rel = relative(SRC, file)
  if (rel.startsWith('..')) return false
  if (CORE_OUTSIDE_ROOT.has(rel)) return true
  return !rel.startsWith('platforms/') && !rel.startsWith('drivers/') && !rel.startsWith('tracing/')
}

/** In a subpath's bundle, an import of a core module becomes an import of the built main entry. */
const coreFromIndex = (entry) => {
  const fromOutput = relative(dirname(join('dist', relative(SRC, entry))), 'dist/index.js')
  const indexPath = fromOutput.startsWith('.') ? fromOutput : `./${fromOutput}`
  return {
    name: 'core-from-index',
    setup(builder) {
      builder.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (args.kind === 'entry-point' || isCore(args.importer)) return undefined
        const target = resolve(dirname(args.importer), args.path.replace(/\.js$/, '.ts'))
        return isCore(target) ? { path: indexPath, external: true } : undefined
      })
    },
  }
}

const common = {
  outbase: 'src',
  outdir: 'dist',
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  bundle: true,
  packages: 'external',
  external: ['node:*'],
  sourcemap: false,
  logLevel: 'warning',
}

rmSync('dist', { recursive: true, force: true })
const subpaths = [
  ...sources('src/drivers').filter((f) => /\/(neon|planetscale|libsql)\/index\.ts$/.test(f)),
  ...sources('src/platforms').filter((f) => !isCore(resolve(f))),
  'src/tracing/otel.ts',
]
await build({ ...common, entryPoints: ['src/index.ts'] })
await Promise.all(
  subpaths.map((entry) => build({ ...common, entryPoints: [entry], plugins: [coreFromIndex(resolve(entry))] })),
)
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
console.log(
  `built dist/: the core in one file, ${subpaths.length} subpaths, from ${sources('src').length} source files`,
)
