// Builds dist/: the core as one ESM file, twice, and one file per driver and platform subpath.
// - dist/index.js, the core for Node (export conditions `node`, `default`): a URL alone loads its
//   driver's subpath on first connect, through a computed import() (src/runtime-import.ts).
// - dist/index.worker.js, the core for Workers and edge runtimes (`workerd`, `worker`, `edge-light`,
//   `browser`): every `X.worker.ts` beside an imported `X.ts` replaces it, so this build has no
//   computed import() at all (bundlers and Miniflare reject one); drivers come from their subpaths.
// - dist/drivers/<d>/index.js, dist/platforms/<p>.js: each bundles its own code and imports the core
//   by the package's own name, '@lazydb/core', so the core a subpath gets is the one the user's import
//   resolves to under the same conditions: one copy of the core (Database, LazyDbError, the driver
//   table) in a process or a bundle. Packages stay external (a bundler can still drop unused drivers).
// Plus .d.ts files (tsc, stripInternal: the core's @internal exports, which only subpaths use, stay out).
// Few files matter: Node 20 spends about a millisecond resolving and linking each module at import.
import { build } from 'esbuild'
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, readdirSync, rmSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const sources = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  )

const SRC = resolve('src')
/** How the subpaths import the core: the package's own name, resolved by Node and bundlers alike. */
const CORE_SPECIFIER = '@lazydb/core'
// Core modules that live under src/drivers/ and src/platforms/: the driver contract and table every
// subpath registers into, and the platform knowledge the core's handler uses.
const CORE_OUTSIDE_ROOT = new Set(['drivers/contract.ts', 'drivers/driver-table.ts', 'platforms/vercel-context.ts'])
const isCore = (file) => {
  const rel = relative(SRC, file)
  if (rel.startsWith('..')) return false
  if (CORE_OUTSIDE_ROOT.has(rel)) return true
  if (rel === 'cli.ts' || rel.startsWith('migrate/')) return false
  return !rel.startsWith('platforms/') && !rel.startsWith('drivers/') && !rel.startsWith('tracing/')
}

/** In a subpath's bundle, an import of a core module becomes an import of the core by package name. */
const coreByName = {
  name: 'core-by-name',
  setup(builder) {
    builder.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind === 'entry-point' || isCore(args.importer)) return undefined
      const target = resolve(dirname(args.importer), args.path.replace(/\.js$/, '.ts'))
      return isCore(target) ? { path: CORE_SPECIFIER, external: true } : undefined
    })
  },
}

/** The Worker/edge build: `./x.js` resolves to `x.worker.ts` where one exists beside `x.ts`. */
const workerVariants = {
  name: 'worker-variants',
  setup(builder) {
    builder.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      const variant = resolve(args.resolveDir, args.path.replace(/\.js$/, '.worker.ts'))
      return existsSync(variant) ? { path: variant } : undefined
    })
  },
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
  ...sources('src/drivers').filter((f) => /\/drivers\/[^/]+\/index\.ts$/.test(f)),
  ...sources('src/platforms').filter((f) => !isCore(resolve(f))),
  'src/tracing/otel.ts',
  'src/migrate/index.ts',
  'src/cli.ts',
]
await Promise.all([
  build({ ...common, entryPoints: ['src/index.ts'] }),
  build({ ...common, entryPoints: [{ in: 'src/index.ts', out: 'index.worker' }], plugins: [workerVariants] }),
  ...subpaths.map((entry) => build({ ...common, entryPoints: [entry], plugins: [coreByName] })),
])
chmodSync('dist/cli.js', 0o755) // `npx lazydb`: the bin runs as a program (its shebang survives the build)
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
console.log(
  `built dist/: the core in one file (and its Worker/edge build), ${subpaths.length} subpaths, ` +
    `from ${sources('src').length} source files`,
)
