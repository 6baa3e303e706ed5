// The Vercel example (functions/vercel/api/notes.ts), bundled twice as `npm run build:functions`
// does: for Edge (`edge-light`), run in edge-runtime's EdgeVM (the runtime Vercel's tooling uses to
// emulate Edge: no process, Buffer or require), on neon-http; and for Node, called directly in
// Node, on neon-ws, with Vercel's request context installed so that `waitUntil` exists. Both reach
// the real PostgreSQL through the local Neon gateways.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { EdgeRuntime } from 'edge-runtime'
import { WebSocket } from 'ws'
import { startNeonHttpGateway, type NeonHttpGateway } from '../support/neon-http-gateway.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { bundleDir, importBundle, sleep } from './helpers.js'

const pgUp = await requirePostgres()

const APP = `lazydb-vercel-${process.pid}`
const NEON_HOST = 'ep-lazydb-test.neon.tech'
const dir = bundleDir('vercel')

interface StatsBody {
  platform: string
  invocations: { total: number; cold: number }
  databases: Record<string, { driver: string; scope: string; connects: number; closes: number; errors: number }>
}

afterAll(() => dir.remove())

describe.skipIf(!pgUp)('Vercel Edge (edge-runtime), neon-http', () => {
  let gateway: NeonHttpGateway
  let runtime: EdgeRuntime

  beforeAll(async () => {
    gateway = await startNeonHttpGateway()
    // Vercel inlines the environment into Edge bundles; the same is done here with esbuild's define.
    const env: Record<string, string | undefined> = {
      DATABASE_URL: pgUrlFor(NEON_HOST, { password: 'not-checked', applicationName: `${APP}-edge` }),
      NEON_FETCH_ENDPOINT: gateway.endpoint,
      NEON_WS_PROXY: undefined,
      LAZYDB_SCOPE: undefined,
      LAZYDB_IDLE_TIMEOUT_MS: undefined,
    }
    const define = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [`process.env.${k}`, v === undefined ? 'undefined' : JSON.stringify(v)]),
    )
    // EdgeVM evaluates scripts, not modules: the same target as an IIFE exposing GET and POST.
    const path = await dir.build('vercel-edge', 'vercel-edge/notes.js', {
      format: 'iife',
      globalName: '__vercelFunction',
      define,
    })
    runtime = new EdgeRuntime({ initialCode: readFileSync(path, 'utf8') })
    runtime.evaluate(
      `addEventListener('fetch', (event) => event.respondWith(__vercelFunction[event.request.method](event.request)))`,
    )
  })
  afterAll(async () => {
    await gateway?.close()
  })

  it('runs without Node globals and detects vercel-edge', async () => {
    expect(runtime.evaluate('[typeof process, typeof Buffer, typeof require, typeof EdgeRuntime].join()')).toBe(
      'undefined,undefined,undefined,string',
    )
    const res = await runtime.dispatchFetch('https://notes.vercel.app/api/stats')
    const stats = (await res.json()) as StatsBody
    expect(stats.platform).toBe('vercel-edge')
    expect(stats.databases.default).toMatchObject({ driver: 'neon-http', scope: 'warm', connects: 0 })
  })

  it('serves GET and POST warm over HTTP: one client for every request', async () => {
    const created = await runtime.dispatchFetch('https://notes.vercel.app/api/notes', {
      method: 'POST',
      body: JSON.stringify({ body: 'from the edge' }),
    })
    expect(created.status).toBe(201)
    const statuses = []
    for (let i = 0; i < 10; i++)
      statuses.push((await runtime.dispatchFetch('https://notes.vercel.app/api/notes')).status)
    const burst = await Promise.all(
      Array.from({ length: 10 }, () => runtime.dispatchFetch('https://notes.vercel.app/api/notes')),
    )
    statuses.push(...burst.map((r) => r.status))
    expect(statuses).toEqual(Array(20).fill(200))
    const list = (await (await runtime.dispatchFetch('https://notes.vercel.app/api/notes')).json()) as {
      body: string
    }[]
    expect(list.map((n) => n.body)).toContain('from the edge')
    const stats = (await (await runtime.dispatchFetch('https://notes.vercel.app/api/stats')).json()) as StatsBody
    expect(stats.databases.default).toMatchObject({
      driver: 'neon-http',
      scope: 'warm',
      connects: 1,
      closes: 0,
      errors: 0,
    })
  })
})

describe.skipIf(!pgUp)('Vercel Node (handler called in Node), neon-ws, waitUntil from the request context', () => {
  const IDLE_TIMEOUT_MS = 250
  const REQUEST_CONTEXT = Symbol.for('@vercel/request-context')
  const g = globalThis as Record<symbol, unknown>
  let gateway: NeonWsGateway
  let fn: { GET: (req: Request) => Promise<Response>; POST: (req: Request) => Promise<Response> }
  let given: Promise<unknown>[] = []

  beforeAll(async () => {
    gateway = await startNeonWsGateway()
    Object.assign(process.env, {
      VERCEL: '1',
      DATABASE_URL: `${pgUrlFor(NEON_HOST, { password: 'not-checked', applicationName: `${APP}-node` })}&transport=ws`,
      NEON_WS_PROXY: gateway.wsProxy,
      LAZYDB_IDLE_TIMEOUT_MS: String(IDLE_TIMEOUT_MS),
    })
    // Vercel's Node runtime (Node 22+) has a global WebSocket; this machine's Node 20 does not.
    ;(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket
    // What Vercel installs for each invocation and @vercel/functions' waitUntil reads.
    g[REQUEST_CONTEXT] = { get: () => ({ waitUntil: (p: Promise<unknown>) => void given.push(p) }) }
    fn = await importBundle(await dir.build('vercel-node', 'vercel-node/notes.mjs'))
  })
  afterAll(async () => {
    delete g[REQUEST_CONTEXT]
    await gateway?.close()
    await waitForConnectionCount(0, `${APP}-node`)
  })

  const stats = async () =>
    (await (await fn.GET(new Request('https://notes.vercel.app/api/stats'))).json()) as StatsBody

  it(
    'closes an idle warm socket before the instance would suspend: ' + 'the waitUntil promise resolves after the close',
    async () => {
      given = []
      const res = await fn.GET(new Request('https://notes.vercel.app/api/notes'))
      expect(res.status).toBe(200)
      const answeredAt = performance.now()
      expect(gateway.openConnections).toBe(1)
      // The invocation handed Vercel a promise for the idle close, so the instance is kept alive for it.
      expect(given).toHaveLength(1)
      let closedAt: number | undefined
      let openWhenResolved: number | undefined
      const idleClose = given[0]!.then(() => {
        closedAt = performance.now()
        openWhenResolved = gateway.openConnections
      })

      // Still open and unresolved while the connection is merely idle.
      await sleep(IDLE_TIMEOUT_MS / 2)
      expect(closedAt).toBeUndefined()
      expect(gateway.openConnections).toBe(1)

      await idleClose
      const s = await stats()
      console.log(
        '[vercel node] idle close resolved',
        Math.round(closedAt! - answeredAt),
        'ms after the response; open gateway connections at that moment:',
        openWhenResolved,
      )
      expect(closedAt! - answeredAt).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS / 2)
      expect(s.platform).toBe('vercel-node')
      expect(s.databases.default).toMatchObject({ driver: 'neon-ws', scope: 'warm', connects: 1, closes: 1, errors: 0 })
      // The promise given to waitUntil settles only once the socket has really closed: the gateway (far
      // side) has already seen the close at that very moment, so nothing is open when Vercel suspends.
      expect(openWhenResolved).toBe(0)
      expect(await waitForConnectionCount(0, `${APP}-node`)).toBe(0)
    },
  )

  it('the next request connects again, and keeps reusing while requests keep coming', async () => {
    given = []
    const created = await fn.POST(
      new Request('https://notes.vercel.app/api/notes', {
        method: 'POST',
        body: JSON.stringify({ body: 'from vercel node' }),
      }),
    )
    expect(created.status).toBe(201)
    for (let i = 0; i < 4; i++)
      expect((await fn.GET(new Request('https://notes.vercel.app/api/notes'))).status).toBe(200)
    const s = await stats()
    expect(s.databases.default).toMatchObject({ connects: 2, closes: 1 })
    await Promise.all(given)
    expect((await stats()).databases.default).toMatchObject({ connects: 2, closes: 2 })
    await expect.poll(() => gateway.openConnections, { timeout: 1000 }).toBe(0)
  })
})
