// The two retry paths for a server that is briefly unreachable, each on the driver where only that
// path can recover:
// - retry at connect (retries.ts connectWithRetry): neon-ws opens its socket when the client is
//   created, so a refused WebSocket upgrade fails the connect itself, which is retried with backoff;
// - retry at the first statement (DatabaseRuntime's recovery of a statement that was never sent):
//   neon-http creates its client with no I/O, so the refusal comes from the statement's own request,
//   which is retried with the same backoff on the same (HTTP) client.
// Either way the call succeeds once the server is back, every retry is reported (on.retry, reason
// 'connect', and stats), and nothing is counted as an error. When the server stays away the call
// fails with CONNECT_FAILED within retry.totalMs.
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry, type RetryEvent } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { startNeonHttpGateway, type NeonHttpGateway } from '../support/neon-http-gateway.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { settledWithin, sleep } from './support.js'

const pgUp = await requirePostgres()
const OUTAGE_MS = 300
const APP = `lazydb-retry-paths-${process.pid}`
type Transport = 'neon-ws' | 'neon-http'

describe.skipIf(!pgUp)('a server unreachable at the first statement', () => {
  const gateways: { close(): Promise<void> }[] = []
  let ws: NeonWsGateway
  let http: NeonHttpGateway

  // Fresh gateways (new ports) for each test, as for a cold start: fetch has no keep-alive connection
  // from an earlier test to reuse (one the endpoint cut may not have been noticed yet when the next
  // request goes out on it, and that request may have been sent: CONNECTION_LOST, not retried).
  beforeEach(async () => {
    ;[ws, http] = await Promise.all([startNeonWsGateway(), startNeonHttpGateway()])
    gateways.push(ws, http)
  })
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()))
  })

  function setup(transport: Transport, app: string, totalMs: number) {
    const retries: RetryEvent[] = []
    const errors: unknown[] = []
    const url = pgUrlFor('ep-lazydb-test.neon.tech', { password: 'not-checked', applicationName: app })
    const registry = new Registry({
      database: neon(transport === 'neon-ws' ? `${url}&transport=ws` : url, {
        transport: transport === 'neon-ws' ? 'ws' : 'http',
        fetchEndpoint: http.endpoint,
        wsProxy: ws.wsProxy,
        useSecureWebSocket: false,
        pipelineConnect: false,
        max: 1,
      }),
      platform: 'aws-lambda',
      warn: false,
      retry: { baseDelayMs: 20, maxDelayMs: 80, totalMs },
      on: { retry: (event) => void retries.push(event), error: (error) => void errors.push(error) },
    })
    const select = handler(registry, async () => (await registry.database.query<{ x: number }>('select 1 as x')).rows)
    return { registry, retries, errors, select }
  }

  async function outage(transport: Transport, on: boolean): Promise<void> {
    if (transport === 'neon-ws') ws.refuse(on)
    else await http.refuse(on)
  }

  for (const [transport, path] of [
    ['neon-ws', 'the connect'],
    ['neon-http', 'the first statement'],
  ] as const) {
    it(`${transport}: ${path} is retried until the server is back`, async () => {
      const app = `${APP}-${transport}-ok`
      const { registry, retries, errors, select } = setup(transport, app, 5000)
      await outage(transport, true)
      const back = sleep(OUTAGE_MS).then(() => outage(transport, false))
      try {
        const started = performance.now()
        const outcome = await settledWithin(select(), 5000)
        const elapsed = performance.now() - started
        expect(outcome).toEqual({ status: 'fulfilled', value: [{ x: 1 }] })
        expect(elapsed).toBeGreaterThanOrEqual(OUTAGE_MS - 20)
        expect(retries.length).toBeGreaterThan(0)
        expect(retries.map((r) => r.reason)).toEqual(retries.map(() => 'connect'))
        expect(retries.map((r) => r.attempt)).toEqual(retries.map((_, i) => i + 1))
        expect(errors).toEqual([])
        expect(registry.stats().databases.default).toMatchObject({ connects: 1, retries: retries.length, errors: 0 })
      } finally {
        await back
        await registry.disconnect()
      }
      if (transport === 'neon-ws') expect(await waitForConnectionCount(0, app)).toBe(0)
    })

    it(`${transport}: with the server away past retry.totalMs, fails with CONNECT_FAILED in time`, async () => {
      const app = `${APP}-${transport}-fail`
      const { registry, retries, select } = setup(transport, app, 300)
      await outage(transport, true)
      try {
        const started = performance.now()
        const outcome = await settledWithin(select(), 3000)
        const elapsed = performance.now() - started
        expect(outcome.status).toBe('rejected')
        const error = (outcome as { reason: unknown }).reason as LazyDbError
        expect(error).toBeInstanceOf(LazyDbError)
        expect(error).toMatchObject({ code: 'CONNECT_FAILED', database: 'default' })
        expect(error.mayHaveRun).not.toBe(true)
        expect(retries.length).toBeGreaterThan(1)
        expect(elapsed).toBeGreaterThanOrEqual(300 * 0.8)
        expect(elapsed).toBeLessThan(300 + 500)
      } finally {
        await outage(transport, false)
        await registry.disconnect()
      }
    })
  }
})
