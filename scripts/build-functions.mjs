// Bundles each platform's example function with esbuild into functions/dist/<platform>/.
// `node scripts/build-functions.mjs [platform…]`; writes a metafile beside each bundle.
import { build } from 'esbuild'
import { mkdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const alias = { lazydb: `${root}src/index.ts` }
for (const sub of ['neon', 'planetscale', 'libsql']) alias[`lazydb/${sub}`] = `${root}src/drivers/${sub}.ts`
for (const sub of ['aws-lambda', 'cloudflare', 'vercel', 'netlify', 'hono']) alias[`lazydb/${sub}`] = `${root}src/platforms/${sub}.ts`

export const targets = {
  node: { entry: 'functions/node/server.ts', out: 'functions/dist/node/server.mjs', platform: 'node', external: ['@libsql/client', '@neondatabase/serverless', '@planetscale/database', 'ws', 'libsql'] },
}

export async function buildFunction(name, overrides = {}) {
  const target = { ...targets[name], ...overrides }
  const result = await build({
    entryPoints: [`${root}${target.entry}`],
    outfile: `${root}${target.out}`,
    bundle: true,
    format: 'esm',
    platform: target.platform,
    target: 'es2022',
    conditions: target.conditions,
    external: target.external ?? [],
    alias,
    minify: target.minify ?? false,
    metafile: true,
    logLevel: 'warning',
    banner: target.platform === 'node' ? { js: "import { createRequire as __lazydbRequire } from 'node:module'; const require = __lazydbRequire(import.meta.url);" } : undefined,
  })
  mkdirSync(`${root}functions/dist/meta`, { recursive: true })
  writeFileSync(`${root}functions/dist/meta/${name}.json`, JSON.stringify(result.metafile))
  return result.metafile
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(targets)
  for (const name of names) {
    await buildFunction(name)
    console.log(`built ${targets[name].out}`)
  }
}
