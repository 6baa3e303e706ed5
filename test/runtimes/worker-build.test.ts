// The Worker/edge build of the BUILT package (dist/, through package.json exports, no src/ aliases):
// the Cloudflare example (functions/cloudflare/worker.ts) bundled with esbuild as wrangler bundles it
// (conditions workerd, worker, browser; platform neutral) holds one copy of the core, its Worker build,
// and no computed import(), so it loads through Miniflare's plain `scriptPath` (which rejects the same
// Worker bundled with the Node core: the control) and serves requests, against the real PostgreSQL
// through the local Neon gateways. A Worker that imports only the core gets DRIVER_MISSING naming the
// subpath to import.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { build, type Metafile } from 'esbuild'
import type { Miniflare } from 'miniflare'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { startNeonHttpGateway, type NeonHttpGateway } from '../support/neon-http-gateway.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { PG_URL, pgUrlFor, requirePostgres } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'
import { packagesIn, withTimeout } from './helpers.js'
import { startWorkerByScriptPath } from './miniflare.js'

const pgUp = await requirePostgres()

const root = fileURLToPath(new URL('../..', import.meta.url))
const APP = `lazydb-worker-build-${process.pid}`
const NEON_HOST = 'ep-lazydb-test.neon.tech'
const WORKER_CONDITIONS = ['workerd', 'worker', 'browser']
/** A computed specifier: import( followed by anything but a string literal. */
const COMPUTED_IMPORT = /\bimport\s*\(\s*(?!['"`])/
const dir = tempDir('lazydb-worker-build-')
const instances: Miniflare[] = []

/** Bundles `entry` as wrangler does, resolving @lazydb/core through package.json exports to dist/. */
async function bundle(entry: string, out: string, conditions = WORKER_CONDITIONS) {
  const result = await build({
    entryPoints: [`${root}${entry}`],
    outfile: dir.file(out),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions,
    mainFields: ['browser', 'module', 'main'],
    target: 'es2022',
    external: ['node:*', 'cloudflare:*'],
    // Not the repository's tsconfig.json, whose paths point @lazydb/core at src/.
    tsconfigRaw: '{}',
    metafile: true,
    logLevel: 'silent',
  })
  return { path: dir.file(out), metafile: result.metafile, code: readFileSync(dir.file(out), 'utf8') }
}

/** The files of @lazydb/core in a bundle (resolved through the package's own name: dist/…). */
const lazydbFiles = (meta: Metafile) => Object.keys(meta.inputs).filter((input) => input.startsWith('dist/'))

function start(scriptPath: string, bindings: Record<string, string>) {
  const started = startWorkerByScriptPath(scriptPath, bindings)
  instances.push(started.mf)
  return started
}

async function get(mf: Miniflare, path: string): Promise<{ status: number | 'timeout'; body: string }> {
  const response = mf
    .dispatchFetch(`http://worker.test${path}`)
    .then(async (res) => ({ status: res.status, body: await res.text() }))
  return withTimeout(response, 10_000, { status: 'timeout' as const, body: '' })
}

let example: Awaited<ReturnType<typeof bundle>>
let coreOnly: Awaited<ReturnType<typeof bundle>>

beforeAll(async () => {
  ;[example, coreOnly] = await Promise.all([
    bundle('functions/cloudflare/worker.ts', 'example/worker.mjs'),
    bundle('test/runtimes/fixtures/core-only-worker.ts', 'core-only/worker.mjs'),
  ])
})
afterAll(async () => {
  await Promise.allSettled(instances.map((mf) => mf.dispose()))
  dir.remove()
})

describe('the Worker build of the built package, bundled as wrangler bundles it', () => {
  it('holds one copy of the core, dist/index.worker.js, the subpaths it imports, and no computed import()', () => {
    expect(lazydbFiles(example.metafile).sort()).toEqual(
      ['dist/drivers/neon/index.js', 'dist/index.worker.js', 'dist/platforms/cloudflare.js'].sort(),
    )
    expect(packagesIn(example.metafile)).toEqual(['@neondatabase/serverless'])
    expect(example.code).not.toMatch(COMPUTED_IMPORT)
    expect(lazydbFiles(coreOnly.metafile)).toEqual(['dist/index.worker.js'])
    expect(packagesIn(coreOnly.metafile)).toEqual([])
    expect(coreOnly.code).not.toMatch(COMPUTED_IMPORT)
  })

  it("CONTROL: bundled with the Node core (default conditions), Miniflare's scriptPath rejects it", async () => {
    const nodeCore = await bundle('functions/cloudflare/worker.ts', 'node-core/worker.mjs', [])
    expect(lazydbFiles(nodeCore.metafile)).toContain('dist/index.js')
    expect(nodeCore.code).toMatch(COMPUTED_IMPORT)
    const { mf } = start(nodeCore.path, { DATABASE_URL: pgUrlFor(NEON_HOST) })
    const failure = await withTimeout(
      mf.ready.then(
        () => 'started',
        (error: { code?: string }) => error.code,
      ),
      20_000,
      'timeout',
    )
    expect(failure).toBe('ERR_MODULE_DYNAMIC_SPEC')
  })

  it('loads through scriptPath and answers a request that needs no database', async () => {
    const { mf } = start(example.path, { DATABASE_URL: pgUrlFor(NEON_HOST) })
    const home = await get(mf, '/')
    expect(home.status).toBe(200)
    expect(home.body).toMatch(/^lazydb demo/)
    const stats = JSON.parse((await get(mf, '/stats')).body) as { platform: string }
    expect(stats.platform).toBe('cloudflare')
  })

  it('a Worker importing only the core: DRIVER_MISSING names the subpath to import, per driver', async () => {
    const { mf } = start(coreOnly.path, {})
    const attempts = {
      '@lazydb/core/neon': pgUrlFor(NEON_HOST),
      '@lazydb/core/planetscale': 'mysql://app:pw@aws.connect.psdb.cloud/app',
      '@lazydb/core/libsql': 'libsql://app-org.turso.io',
    }
    for (const [subpath, url] of Object.entries(attempts)) {
      const res = await get(mf, `/?url=${encodeURIComponent(url)}`)
      expect(res.status, res.body).toBe(500)
      const error = JSON.parse(res.body) as { lazy: boolean; code: string; message: string }
      expect(error).toMatchObject({ lazy: true, code: 'DRIVER_MISSING' })
      expect(error.message).toContain(`import '${subpath}'`)
    }
  })
})

describe.skipIf(!pgUp)('the Worker build serves the example against PostgreSQL (Neon gateways)', () => {
  let wsGateway: NeonWsGateway
  let httpGateway: NeonHttpGateway

  beforeAll(async () => {
    const admin = new pg.Client(PG_URL)
    await admin.connect()
    try {
      await admin.query(
        'create table if not exists notes (id bigserial primary key, body text not null, ' +
          'created_at timestamptz not null default now())',
      )
    } catch (error) {
      if ((error as { code?: string }).code !== '23505') throw error // a concurrent create won the race
    } finally {
      await admin.end()
    }
    ;[wsGateway, httpGateway] = await Promise.all([startNeonWsGateway(), startNeonHttpGateway()])
  })
  afterAll(async () => {
    await Promise.allSettled([wsGateway?.close(), httpGateway?.close()])
  })

  it('neon-http (warm) and neon-ws (request-scoped) each serve GET /notes', async () => {
    const httpUrl = pgUrlFor(NEON_HOST, { password: 'not-checked', applicationName: `${APP}-http` })
    const overHttp = start(example.path, { DATABASE_URL: httpUrl, NEON_FETCH_ENDPOINT: httpGateway.endpoint })
    const wsUrl = `${pgUrlFor(NEON_HOST, { password: 'not-checked', applicationName: `${APP}-ws` })}&transport=ws`
    const overWs = start(example.path, { DATABASE_URL: wsUrl, NEON_WS_PROXY: wsGateway.wsProxy })
    for (const { mf } of [overHttp, overWs]) {
      for (let i = 0; i < 3; i++) {
        const res = await get(mf, '/notes')
        expect(res.status, res.body).toBe(200)
        expect(Array.isArray(JSON.parse(res.body))).toBe(true)
      }
    }
    const stats = async (mf: Miniflare) =>
      (JSON.parse((await get(mf, '/stats')).body) as { databases: Record<string, unknown> }).databases.default
    expect(await stats(overHttp.mf)).toMatchObject({ driver: 'neon-http', scope: 'warm', connects: 1, errors: 0 })
    expect(await stats(overWs.mf)).toMatchObject({ driver: 'neon-ws', scope: 'request', connects: 3, errors: 0 })
    expect(httpGateway.roundTrips).toBeGreaterThanOrEqual(3)
    expect(wsGateway.connectionsOpened).toBeGreaterThanOrEqual(3)
  })
})
