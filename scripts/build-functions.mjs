// Bundles each platform's example function with esbuild into functions/dist/<platform>/.
// `node scripts/build-functions.mjs [platform…]`; writes a metafile beside each bundle
// (functions/dist/meta/<platform>.json), from which test/runtimes/bundles.test.ts checks that each
// bundle carries only the drivers its function uses.
import { build } from 'esbuild'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, isAbsolute } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const alias = { '@lazydb/core': `${root}src/index.ts` }
for (const sub of ['neon', 'planetscale', 'libsql', 'pg', 'mysql2', 'postgres'])
  alias[`@lazydb/core/${sub}`] = `${root}src/drivers/${sub}/index.ts`
for (const sub of ['aws-lambda', 'cloudflare', 'vercel', 'netlify', 'hono', 'node'])
  alias[`@lazydb/core/${sub}`] = `${root}src/platforms/${sub}.ts`

// Node ESM bundles get a `require` for the CommonJS packages they carry (ws, …).
const NODE_REQUIRE =
  "import { createRequire as __lazydbRequire } from 'node:module'; const require = __lazydbRequire(import.meta.url);"

/**
 * One entry per deployable bundle. `platform`/`conditions` follow what each platform's own
 * bundler uses: wrangler (`workerd`, `worker`, `browser`; `node:*` left to nodejs_compat), Vercel
 * Edge (`edge-light`), Netlify (`netlify`: @libsql/client's fetch-only build, no native module),
 * Node for Lambda and Vercel Node.
 */
export const targets = {
  node: {
    entry: 'functions/node/server.ts',
    out: 'functions/dist/node/server.mjs',
    platform: 'node',
    external: ['@libsql/client', '@neondatabase/serverless', '@planetscale/database', 'ws', 'libsql'],
  },
  cloudflare: {
    entry: 'functions/cloudflare/worker.ts',
    out: 'functions/dist/cloudflare/worker.mjs',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    external: ['node:*', 'cloudflare:*'],
  },
  'vercel-edge': {
    entry: 'functions/vercel/api/notes.ts',
    out: 'functions/dist/vercel-edge/api/notes.mjs',
    platform: 'browser',
    conditions: ['edge-light', 'worker', 'browser'],
  },
  'vercel-node': {
    entry: 'functions/vercel/api/notes.ts',
    out: 'functions/dist/vercel-node/api/notes.mjs',
    platform: 'node',
  },
  netlify: {
    entry: 'functions/netlify/notes.ts',
    out: 'functions/dist/netlify/notes.mjs',
    platform: 'node',
    conditions: ['netlify'],
  },
  'aws-lambda': {
    entry: 'functions/aws-lambda/handler.ts',
    out: 'functions/dist/aws-lambda/handler.mjs',
    platform: 'node',
  },
}

/**
 * Builds one target. `overrides` may change any field of the target and add esbuild's `format`,
 * `globalName`, `define`, `write`, `plugins` and `metafilePath` (absolute, or `false` for none); `out` may be
 * absolute (tests build into temporary directories).
 */
export async function buildFunction(name, overrides = {}) {
  if (!(name in targets) && overrides.entry === undefined)
    throw new Error(`unknown target "${name}"; known: ${Object.keys(targets).join(', ')}`)
  const target = { ...targets[name], ...overrides }
  const abs = (path) => (isAbsolute(path) ? path : `${root}${path}`)
  const format = target.format ?? 'esm'
  const result = await build({
    entryPoints: [abs(target.entry)],
    outfile: abs(target.out),
    bundle: true,
    format,
    globalName: target.globalName,
    platform: target.platform,
    target: 'es2022',
    conditions: target.conditions,
    external: target.external ?? [],
    define: target.define,
    alias,
    minify: target.minify ?? false,
    metafile: true,
    write: target.write ?? true,
    logLevel: 'warning',
    banner: target.platform === 'node' && format === 'esm' ? { js: NODE_REQUIRE } : undefined,
    plugins: target.plugins ?? [],
  })
  const metafilePath =
    target.metafilePath ??
    (name in targets && overrides.out === undefined ? `${root}functions/dist/meta/${name}.json` : false)
  if (metafilePath !== false) {
    mkdirSync(dirname(metafilePath), { recursive: true })
    writeFileSync(metafilePath, JSON.stringify(result.metafile))
  }
  return result.metafile
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(targets)
  for (const name of names) {
    await buildFunction(name)
    console.log(`built ${targets[name].out}`)
  }
}
