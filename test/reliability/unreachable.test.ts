// PostgreSQL unreachable for 2 s at cold start: the local Neon gateways refuse (the WebSocket
// proxy cuts upgrades; the HTTP endpoint stops listening, so fetch gets ECONNREFUSED before any
// request byte is sent), then accept again. With retry.totalMs 5000 the first query waits it out;
// with 500 it fails with CONNECT_FAILED naming the alias, within the bound.
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry, type RetryEvent } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { startNeonHttpGateway, type NeonHttpGateway } from '../support/neon-http-gateway.js'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { sleep } from './support.js'

const pgUp = await requirePostgres()
const APP = `lazydb-unreachable-${process.pid}`
const OUTAGE_MS = 2000
type Transport = 'neon-ws' | 'neon-http'

describe.skipIf(!pgUp)('PostgreSQL unreachable for 2 s at cold start', () => {
  // Fresh gateways (new ports) for each test: a cold start has no pooled keep-alive connection
  // from a previous test for fetch to reuse.
  let ws: NeonWsGateway
  let http: NeonHttpGateway
  const gateways: { close(): Promise<void> }[] = []

  beforeEach(async () => {
    ;[ws, http] = await Promise.all([startNeonWsGateway(), startNeonHttpGateway()])
    gateways.push(ws, http)
  })
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()))
  })

  function registryFor(transport: Transport, app: string, totalMs: number, retries: RetryEvent[]) {
    const url = pgUrlFor('ep-lazydb-test.neon.tech', { password: 'not-checked', applicationName: app })
    return new Registry({
      database: neon(transport === 'neon-ws' ? `${url}&transport=ws` : url, {
        fetchEndpoint: http.endpoint,
        wsProxy: ws.wsProxy,
        useSecureWebSocket: false,
        pipelineConnect: false,
        transport: transport === 'neon-ws' ? 'ws' : 'http',
      }),
      platform: 'node',
      warn: false,
      retry: { totalMs },
      on: { retry: (e) => void retries.push(e) },
    })
  }

  async function outage(transport: Transport, on: boolean): Promise<void> {
    if (transport === 'neon-ws') ws.refuse(on)
    else await http.refuse(on)
  }

  const describeRetries = (retries: RetryEvent[]) =>
    retries.map((r) => `#${r.attempt} ${r.reason} +${r.delayMs}ms`).join(', ')

  for (const transport of ['neon-ws', 'neon-http'] as const) {
    describe(transport, () => {
      it('retry.totalMs 5000: the first query succeeds once the server is back', async () => {
        const app = `${APP}-${transport}-ok`
        const retries: RetryEvent[] = []
        const registry = registryFor(transport, app, 5000, retries)
        const fn = handler(registry, async () => (await registry.database.query<{ x: number }>('select 1 as x')).rows)
        await outage(transport, true)
        const started = performance.now()
        const back = sleep(OUTAGE_MS).then(() => outage(transport, false))
        try {
          const rows = await fn()
          const elapsed = performance.now() - started
          await back
          const stats = registry.stats().databases.default!
          console.log(
            `[unreachable] ${transport}, totalMs 5000: succeeded after ${Math.round(elapsed)} ms; ` +
              `retries ${stats.retries}: ${describeRetries(retries)}`,
          )
          expect(rows).toEqual([{ x: 1 }])
          expect(elapsed).toBeGreaterThanOrEqual(OUTAGE_MS - 50)
          expect(elapsed).toBeLessThan(5000 + 1000)
          expect(stats.retries).toBeGreaterThan(0)
          expect(retries).toHaveLength(stats.retries)
          expect(retries.every((r) => r.database === 'default' && r.reason === 'connect' && r.delayMs > 0)).toBe(true)
          expect(stats.errors).toBe(0)
          // Warm afterwards: the next invocation needs no retry.
          expect(await fn()).toEqual([{ x: 1 }])
          expect(registry.stats().databases.default!.retries).toBe(stats.retries)
        } finally {
          await back
          await registry.disconnect()
        }
        // neon-http holds no connection; the HTTP gateway's own pool (Neon's side) is checked at the end.
        if (transport === 'neon-ws') expect(await waitForConnectionCount(0, app)).toBe(0)
      })

      it('retry.totalMs 500: fails with CONNECT_FAILED naming the alias, within the bound', async () => {
        const app = `${APP}-${transport}-fail`
        const retries: RetryEvent[] = []
        const registry = registryFor(transport, app, 500, retries)
        const fn = handler(registry, async () => (await registry.database.query('select 1 as x')).rows)
        await outage(transport, true) // for longer than the bound: this test's gateways never come back
        try {
          const started = performance.now()
          const error = (await fn().catch((e: unknown) => e)) as LazyDbError
          const elapsed = performance.now() - started
          console.log(
            `[unreachable] ${transport}, totalMs 500: ${error.code} after ${Math.round(elapsed)} ms; ` +
              `retries ${retries.length}: ${describeRetries(retries)}`,
          )
          expect(error).toBeInstanceOf(LazyDbError)
          expect(error).toMatchObject({ code: 'CONNECT_FAILED', database: 'default' })
          expect(error.message).toMatch(/^database "default" \(neon-(ws|http)\): could not (connect|reach the server)/)
          expect(error.mayHaveRun).not.toBe(true)
          expect(retries.length).toBeGreaterThan(0)
          // No retry starts after totalMs: the last attempt began within 500 ms and a refused connect fails at once.
          expect(elapsed).toBeLessThan(500 + 250)
          expect(elapsed).toBeLessThan(OUTAGE_MS)
        } finally {
          await registry.disconnect()
        }
        // neon-http holds no connection; the HTTP gateway's own pool (Neon's side) is checked at the end.
        if (transport === 'neon-ws') expect(await waitForConnectionCount(0, app)).toBe(0)
      })
    })
  }

  it('leaves no server connection behind (the gateways closed)', async () => {
    await Promise.all(gateways.map((g) => g.close()))
    for (const transport of ['neon-ws', 'neon-http']) {
      for (const end of ['ok', 'fail']) expect(await waitForConnectionCount(0, `${APP}-${transport}-${end}`)).toBe(0)
    }
  })
})
