// Row 4: bundle cost. The same edge function (read a row by id, return JSON) written against the raw
// driver and against lazydb, each bundled by esbuild with minify for a Workers-like target; the
// min+gzip difference is what lazydb adds. Every bundle's inputs are checked for other drivers.
import { readFileSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { ensureWork, hasBuiltDriver, row } from '../lib/util.mjs'

// The target the package issue set for a Worker's bundle: at most 10 KB gzipped added over the raw driver.
const LIMIT = 10 * 1024
const DRIVER_PACKAGES = { libsql: '@libsql/', neon: '@neondatabase/', planetscale: '@planetscale/' }
const RAW_PACKAGE = { libsql: '@libsql/client', neon: '@neondatabase/serverless', planetscale: '@planetscale/database' }

const FUNCTIONS = {
  libsql: {
    subpath: 'libsql',
    raw: `import { createClient } from '@libsql/client'
let client
export default {
  async fetch(request, env) {
    client ??= createClient({ url: env.DATABASE_URL, authToken: env.DATABASE_AUTH_TOKEN })
    const id = new URL(request.url).searchParams.get('id')
    const { rows } = await client.execute({ sql: 'select id, body from notes where id = ?', args: [id] })
    return Response.json(rows)
  },
}
`,
    lazydb: `import { Registry, handler } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
let registry
export default {
  fetch: handler(
    (request, env) =>
      (registry ??= new Registry({ database: libsql(env.DATABASE_URL, { authToken: env.DATABASE_AUTH_TOKEN }) })),
    async (request) => {
      const id = new URL(request.url).searchParams.get('id')
      const { rows } = await registry.database.query('select id, body from notes where id = ?', [id])
      return Response.json(rows)
    },
  ),
}
`,
  },
  'neon-http': {
    subpath: 'neon',
    raw: `import { neon } from '@neondatabase/serverless'
let sql
export default {
  async fetch(request, env) {
    sql ??= neon(env.DATABASE_URL)
    const id = new URL(request.url).searchParams.get('id')
    const rows = await sql.query('select id, body from notes where id = $1', [id])
    return Response.json(rows)
  },
}
`,
    lazydb: `import { Registry, handler } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
let registry
export default {
  fetch: handler(
    (request, env) => (registry ??= new Registry({ database: neon(env.DATABASE_URL) })),
    async (request) => {
      const id = new URL(request.url).searchParams.get('id')
      const { rows } = await registry.database.query('select id, body from notes where id = $1', [id])
      return Response.json(rows)
    },
  ),
}
`,
  },
  planetscale: {
    subpath: 'planetscale',
    raw: `import { connect } from '@planetscale/database'
let conn
export default {
  async fetch(request, env) {
    conn ??= connect({ url: env.DATABASE_URL })
    const id = new URL(request.url).searchParams.get('id')
    const { rows } = await conn.execute('select id, body from notes where id = ?', [id])
    return Response.json(rows)
  },
}
`,
    lazydb: `import { Registry, handler } from '@lazydb/core'
import { planetscale } from '@lazydb/core/planetscale'
let registry
export default {
  fetch: handler(
    (request, env) => (registry ??= new Registry({ database: planetscale(env.DATABASE_URL) })),
    async (request) => {
      const id = new URL(request.url).searchParams.get('id')
      const { rows } = await registry.database.query('select id, body from notes where id = ?', [id])
      return Response.json(rows)
    },
  ),
}
`,
  },
  // No driver at all: only the core entry, configured by URL.
  core: {
    lazydb: `import { Registry, handler } from '@lazydb/core'
const registry = new Registry({ database: 'file:app.db' })
export default { fetch: handler(registry, async () => Response.json((await registry.database.query('select 1')).rows)) }
`,
  },
}

async function bundle(name, source) {
  const { build } = await import('esbuild')
  const dir = ensureWork('bundle')
  const entry = `${dir}${name}.mjs`
  writeFileSync(entry, source)
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    outfile: `${dir}${name}.out.js`,
    metafile: true,
    // Resolve 'lazydb' the way a user's bundler does (package exports → dist/), not through the
    // project's tsconfig paths, which point at src/.
    tsconfigRaw: '{}',
    logLevel: 'silent',
  })
  const output = Object.values(result.metafile.outputs)[0]
  const code = readFileSync(`${dir}${name}.out.js`)
  const perInput = Object.entries(output.inputs).map(([file, { bytesInOutput }]) => [file, bytesInOutput])
  return {
    minBytes: code.length,
    gzipBytes: gzipSync(code, { level: 9 }).length,
    inputs: Object.keys(result.metafile.inputs),
    perInput,
  }
}

/** Other drivers' packages or lazydb driver files in a bundle's inputs. */
function foreign(inputs, own) {
  const bad = []
  for (const [driver, prefix] of Object.entries(DRIVER_PACKAGES)) {
    if (driver === own) continue
    for (const input of inputs)
      if (input.includes(`node_modules/${prefix}`) || input.endsWith(`dist/drivers/${driver}/index.js`)) bad.push(input)
  }
  return bad
}

export async function run() {
  const rows = []
  const absence = {}
  for (const [name, fn] of Object.entries(FUNCTIONS)) {
    if (name === 'core') continue
    const id = `4-${name}`
    const title = `Bundle cost, ${name} function (esbuild, minify, gzip -9)`
    if (!hasBuiltDriver(fn.subpath)) {
      rows.push(
        row({
          id,
          name: title,
          baseline: 'the same function on the raw driver',
          target: `<= ${LIMIT} bytes added`,
          skipped: `dist/drivers/${fn.subpath}/index.js is not built yet`,
        }),
      )
      continue
    }
    const raw = await bundle(`${name}-raw`, fn.raw)
    const ours = await bundle(`${name}-lazydb`, fn.lazydb)
    const added = ours.gzipBytes - raw.gzipBytes
    const others = foreign(ours.inputs, fn.subpath)
    absence[name] = others
    rows.push(
      row({
        id,
        name: title,
        baseline: `the same function written against ${RAW_PACKAGE[fn.subpath]} directly`,
        measured: {
          lazydbGzipBytes: ours.gzipBytes,
          rawGzipBytes: raw.gzipBytes,
          addedGzipBytes: added,
          lazydbMinBytes: ours.minBytes,
          rawMinBytes: raw.minBytes,
          addedMinBytes: ours.minBytes - raw.minBytes,
          otherDriversInBundle: others,
        },
        ratio: ours.gzipBytes / raw.gzipBytes,
        target: `<= ${LIMIT} bytes added (min+gzip); no other driver`,
        pass: added <= LIMIT && others.length === 0,
        unit: 'bytes; ratio = lazydb / raw gzip size',
        diagnostics: {
          // Minified bytes each lazydb file leaves in the bundle, largest first.
          lazydbMinBytesByFile: Object.fromEntries(
            ours.perInput.filter(([f]) => f.startsWith('dist/')).sort((a, b) => b[1] - a[1]),
          ),
        },
      }),
    )
  }
  const core = await bundle('core-lazydb', FUNCTIONS.core.lazydb)
  const coreForeign = foreign(core.inputs, undefined)
  rows.push(
    row({
      id: '4-core',
      name: 'Bundle, core entry only (URL config): driver packages absent',
      baseline: 'none (absolute size)',
      measured: {
        gzipBytes: core.gzipBytes,
        minBytes: core.minBytes,
        driverInputs: coreForeign,
        perDriverForeignInputs: absence,
      },
      target: 'no driver package in a core-only bundle; none of the other drivers in a driver bundle',
      pass: coreForeign.length === 0 && Object.values(absence).every((a) => a.length === 0),
      unit: 'bytes',
    }),
  )
  return rows
}
