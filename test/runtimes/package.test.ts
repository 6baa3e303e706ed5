// The built package as a user's Node imports it (package.json "exports" → dist/), in a child process
// so vitest's aliases to src/ play no part: the core is one module (twice built: for Node, and for
// Workers and edge runtimes without a computed import()), every subpath imports it by the package's own
// name and shares its classes and driver table, and a URL-configured database reaches the driver a
// subpath registered.
import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const root = fileURLToPath(new URL('../..', import.meta.url))
/** The specifiers a built file imports or re-exports from: relative ones, or the package's own name. */
const ownImports = (file: string) =>
  [
    ...readFileSync(`${root}dist/${file}`, 'utf8').matchAll(
      /(?:^|\n)\s*(?:import|export)\b[^;'"]*?['"](\.{1,2}\/[^'"]+|@lazydb\/core[^'"]*)['"]/g,
    ),
  ].map((m) => m[1])
/** import( followed by anything but a string literal. */
const COMPUTED_IMPORT = /\bimport\s*\(\s*(?!['"`])/

const PROBE = `
import { Database, LazyDbError, Registry, handler } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { neon } from '@lazydb/core/neon'
import { planetscale } from '@lazydb/core/planetscale'
import { withRegistry } from '@lazydb/core/cloudflare'
import { handler as lambdaHandler } from '@lazydb/core/aws-lambda'
import { handler as vercelHandler } from '@lazydb/core/vercel'
import { handler as netlifyHandler } from '@lazydb/core/netlify'
import { lazydb } from '@lazydb/core/hono'

const out = {}
out.sameDatabaseClass = [libsql(':memory:'), neon('postgres://u@h/db'), planetscale('mysql://u:p@h/db')].every(
  (d) => d instanceof Database,
)
try {
  new Registry({ database: neon('postgres://u@h/db', { fetchEndpoint: 5 }) })
} catch (e) {
  out.driverErrorIsCoreClass = e instanceof LazyDbError && e.code
}
out.adaptersShareHandler = vercelHandler === handler && netlifyHandler === handler
out.adapterTypes = [typeof withRegistry, typeof lambdaHandler, typeof lazydb]
// A URL alone: the driver table the libsql subpath registered into is the one the core reads.
const registry = new Registry({ database: ':memory:', warn: false })
const run = handler(registry, () => registry.database.query('select 40 + 2 as answer'))
out.rows = (await run()).rows.map((r) => ({ ...r }))
out.connects = registry.stats().databases.default.connects
await registry.disconnect({ force: true })
console.log(JSON.stringify(out))
`

describe('the built package (dist/, through package.json exports)', () => {
  it('the core is a single module, in each build; each subpath imports only the core, by package name', () => {
    expect(ownImports('index.js')).toEqual([])
    expect(ownImports('index.worker.js')).toEqual([])
    const drivers = ['neon', 'planetscale', 'libsql', 'pg', 'mysql2', 'postgres'].map((d) => `drivers/${d}/index.js`)
    const platforms = readdirSync(`${root}dist/platforms`)
      .filter((f) => f.endsWith('.js'))
      .map((f) => `platforms/${f}`)
    expect(platforms.length).toBe(9) // node.ts bundles node-lifespan, node-express and node-fastify, built alone too
    for (const file of [...drivers, ...platforms, 'tracing/otel.js', 'migrate/index.js']) {
      const imports = ownImports(file)
      expect(imports.length, file).toBeGreaterThan(0)
      expect(new Set(imports), file).toEqual(new Set(['@lazydb/core']))
    }
  })

  it('only the Node core holds a computed import(); the Worker/edge core and every subpath hold none', () => {
    const read = (file: string) => readFileSync(`${root}dist/${file}`, 'utf8')
    expect(read('index.js')).toMatch(COMPUTED_IMPORT)
    const others = [
      'index.worker.js',
      'tracing/otel.js',
      ...['neon', 'planetscale', 'libsql', 'pg', 'mysql2', 'postgres'].map((d) => `drivers/${d}/index.js`),
      'migrate/index.js',
      ...readdirSync(`${root}dist/platforms`)
        .filter((f) => f.endsWith('.js'))
        .map((f) => `platforms/${f}`),
    ]
    for (const file of others) expect(read(file), file).not.toMatch(COMPUTED_IMPORT)
  })

  it('package.json sends workerd, worker, edge-light and browser to the Worker/edge core', async () => {
    const resolveUnder = async (condition: string | undefined) => {
      const args = condition === undefined ? [] : [`--conditions=${condition}`]
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [...args, '--input-type=module', '-e', "console.log(import.meta.resolve('@lazydb/core'))"],
        { cwd: root, timeout: 10_000 },
      )
      return stdout.trim().slice(stdout.trim().lastIndexOf('/dist/') + 1)
    }
    expect(await resolveUnder(undefined)).toBe('dist/index.js')
    for (const condition of ['workerd', 'worker', 'edge-light', 'browser'])
      expect(await resolveUnder(condition), condition).toBe('dist/index.worker.js')
    const [nodeCore, workerCore] = await Promise.all([
      import(/* @vite-ignore */ `${root}dist/index.js`),
      import(/* @vite-ignore */ `${root}dist/index.worker.js`),
    ])
    expect(Object.keys(workerCore).sort()).toEqual(Object.keys(nodeCore).sort())
  })

  it('every subpath shares the core classes and driver table', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', PROBE], {
      cwd: root,
      timeout: 20_000,
    })
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!)
    expect(out).toEqual({
      sameDatabaseClass: true,
      driverErrorIsCoreClass: 'CONFIG_INVALID',
      adaptersShareHandler: true,
      adapterTypes: ['function', 'function', 'function'],
      rows: [{ answer: 42 }],
      connects: 1,
    })
  })
})
