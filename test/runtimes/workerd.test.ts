// The Cloudflare example (functions/cloudflare/worker.ts), built with esbuild as
// `npm run build:functions` builds it, running for real in workerd through Miniflare, against the
// real PostgreSQL through the local Neon gateways. A hand-written Worker with a module-scope Neon
// Pool (fixtures/module-pool-worker.ts) runs the same requests as a control and must fail them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Miniflare } from 'miniflare'
import pg from 'pg'
import { startNeonHttpGateway, type NeonHttpGateway } from '../support/neon-http-gateway.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { PG_URL, pgConnectionCount, pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { bundleDir, withTimeout } from './helpers.js'
import { startWorker } from './miniflare.js'

const pgUp = await requirePostgres()

const APP = `lazydb-workerd-${process.pid}`
const NEON_HOST = 'ep-lazydb-test.neon.tech'
const REQUEST_TIMEOUT_MS = 5000
const CROSS_REQUEST = /Cannot perform I\/O on behalf of a different request/

interface Outcome {
  ok: boolean
  status: number | 'timeout'
  body: string
}

const dir = bundleDir('workerd')
let wsGateway: NeonWsGateway
let httpGateway: NeonHttpGateway
let workerPath: string
let controlPath: string
const instances: Miniflare[] = []

/** The Worker in workerd (see startWorker), disposed after the file. */
function start(scriptPath: string, bindings: Record<string, string>) {
  const started = startWorker(scriptPath, dir.dir, bindings)
  instances.push(started.mf)
  return started
}

async function request(mf: Miniflare, path: string): Promise<Outcome> {
  const attempt = mf
    .dispatchFetch(`http://worker.test${path}`)
    .then(async (res) => ({ status: res.status, body: await res.text() }))
  const result = await withTimeout(
    attempt.catch((error: unknown) => ({ status: 599, body: String(error) })),
    REQUEST_TIMEOUT_MS,
    'timeout' as const,
  )
  if (result === 'timeout') return { ok: false, status: 'timeout', body: '' }
  let ok = result.status === 200
  try {
    ok &&= Array.isArray(JSON.parse(result.body))
  } catch {
    ok = false
  }
  return { ok, ...result }
}

/** 100 sequential requests, then 100 in bursts of 20 concurrent; stops early after `maxTimeouts` hangs. */
async function drive(mf: Miniflare, maxTimeouts = Infinity): Promise<Outcome[]> {
  const outcomes: Outcome[] = []
  const hangs = () => outcomes.filter((o) => o.status === 'timeout').length
  for (let i = 0; i < 100 && hangs() < maxTimeouts; i++) outcomes.push(await request(mf, '/notes'))
  for (let burst = 0; burst < 5 && hangs() < maxTimeouts; burst++) {
    outcomes.push(...(await Promise.all(Array.from({ length: 20 }, () => request(mf, '/notes')))))
  }
  return outcomes
}

const summary = (outcomes: Outcome[]) => ({
  requests: outcomes.length,
  ok: outcomes.filter((o) => o.ok).length,
  timeouts: outcomes.filter((o) => o.status === 'timeout').length,
  crossRequest: outcomes.filter((o) => CROSS_REQUEST.test(o.body)).length,
  failedStatuses: [...new Set(outcomes.filter((o) => !o.ok).map((o) => o.status))],
})

const firstFailure = (outcomes: Outcome[]) => {
  const failed = outcomes.find((o) => !o.ok)
  return failed === undefined ? '' : `first failure: ${failed.status} ${failed.body.slice(0, 300)}`
}

async function stats(mf: Miniflare) {
  const res = await mf.dispatchFetch('http://worker.test/stats')
  return (await res.json()) as {
    platform: string
    databases: Record<string, { driver: string; scope: string; connects: number; closes: number; errors: number }>
  }
}

describe.skipIf(!pgUp)('Cloudflare Workers: the built worker in workerd (Miniflare)', () => {
  let baseline = 0

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
    workerPath = await dir.build('cloudflare', 'cloudflare/worker.mjs')
    controlPath = await dir.build('cloudflare', 'control/worker.mjs', {
      entry: 'test/runtimes/fixtures/module-pool-worker.ts',
    })
    baseline = await pgConnectionCount(APP)
  })

  afterAll(async () => {
    await Promise.allSettled(instances.map((mf) => mf.dispose()))
    await Promise.allSettled([wsGateway?.close(), httpGateway?.close()])
    dir.remove()
  })

  it(
    'neon-ws: 200 requests (100 sequential, 100 in bursts of 20) all succeed; ' +
      'connections close after each request',
    async () => {
      const url = `${pgUrlFor(NEON_HOST, { password: 'not-checked', applicationName: APP })}&transport=ws`
      const { mf, output } = start(workerPath, { DATABASE_URL: url, NEON_WS_PROXY: wsGateway.wsProxy })
      wsGateway.resetCounters()
      const outcomes = await drive(mf)
      const result = summary(outcomes)
      console.log(
        '[workerd neon-ws]',
        JSON.stringify(result),
        `gateway connections opened: ${wsGateway.connectionsOpened}`,
        firstFailure(outcomes),
      )
      expect(result).toEqual({ requests: 200, ok: 200, timeouts: 0, crossRequest: 0, failedStatuses: [] })
      expect(output.join('')).not.toMatch(CROSS_REQUEST)
      expect(output.join('')).not.toMatch(/hung and would never generate a response/)

      // Request scope: one connection per request, each closed through ctx.waitUntil.
      await expect.poll(() => wsGateway.openConnections, { timeout: 5000 }).toBe(0)
      expect(await waitForConnectionCount(baseline, APP, 5000)).toBe(baseline)
      const s = await stats(mf)
      expect(s.platform).toBe('cloudflare')
      expect(s.databases.default).toMatchObject({
        driver: 'neon-ws',
        scope: 'request',
        connects: 200,
        closes: 200,
        errors: 0,
      })
      expect(wsGateway.connectionsOpened).toBe(200)
    },
  )

  it('neon-http: stays warm across requests (one client), all requests succeed', async () => {
    const url = pgUrlFor(NEON_HOST, { password: 'not-checked', applicationName: `${APP}-http` })
    const { mf, output } = start(workerPath, { DATABASE_URL: url, NEON_FETCH_ENDPOINT: httpGateway.endpoint })
    httpGateway.resetCounters()
    const outcomes: Outcome[] = []
    for (let i = 0; i < 20; i++) outcomes.push(await request(mf, '/notes'))
    outcomes.push(...(await Promise.all(Array.from({ length: 20 }, () => request(mf, '/notes')))))
    console.log('[workerd neon-http]', JSON.stringify(summary(outcomes)), firstFailure(outcomes))
    expect(summary(outcomes)).toEqual({ requests: 40, ok: 40, timeouts: 0, crossRequest: 0, failedStatuses: [] })
    expect(output.join('')).not.toMatch(CROSS_REQUEST)
    const s = await stats(mf)
    expect(s.platform).toBe('cloudflare')
    expect(s.databases.default).toMatchObject({ driver: 'neon-http', scope: 'warm', connects: 1, closes: 0, errors: 0 })
    expect(httpGateway.roundTrips).toBeGreaterThanOrEqual(40)
  })

  it('CONTROL: the same requests against a hand-written Worker with a module-scope Neon Pool fail', async () => {
    const url = pgUrlFor(NEON_HOST, { password: 'not-checked', applicationName: `${APP}-control` })
    const { mf, output } = start(controlPath, { DATABASE_URL: url, NEON_WS_PROXY: wsGateway.wsProxy })
    const outcomes = await drive(mf, 3) // each hang costs the timeout: three are proof enough
    const result = summary(outcomes)
    const reported = output.join('').match(new RegExp(CROSS_REQUEST.source, 'g'))?.length ?? 0
    console.log(
      '[workerd control]',
      JSON.stringify(result),
      `"Cannot perform I/O" in workerd's output: ${reported}`,
      firstFailure(outcomes),
    )
    expect(result.requests - result.ok).toBeGreaterThanOrEqual(1)
    // How it fails: workerd cancels the request that waits on another request's socket as hung,
    // or reports the cross-request I/O, or it hangs past the timeout.
    const failedAsExpected = outcomes
      .filter((o) => !o.ok)
      .every(
        (o) => o.status === 'timeout' || /hung and would never generate a response|Cannot perform I\/O/.test(o.body),
      )
    expect(failedAsExpected || CROSS_REQUEST.test(output.join(''))).toBe(true)
    await mf.dispose()
    instances.splice(instances.indexOf(mf), 1)
    await waitForConnectionCount(0, `${APP}-control`, 5000)
  })
})
