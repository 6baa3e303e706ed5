// The idle close (WarmClient's idle timer): a warm socket nobody uses for idleTimeoutMs is closed by
// its timer, with no statement to trigger it — close reason 'idle', the server backend gone, the
// database no longer connected. Idle time counts from the end of the last use: a socket used more
// often than that stays open on the same backend. Only the timer can do this: no statement runs
// between the last use and the close.
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, Registry, type CloseEvent } from '@lazydb/core'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { adminClient, neonWs, terminateLeftovers, uniqueApp } from './pool-support.js'
import { sleep, within } from './support.js'

const pgUp = await requirePostgres()
const IDLE_TIMEOUT_MS = 150

describe.skipIf(!pgUp)('the idle timer of a warm socket', () => {
  let gateway: NeonWsGateway
  let admin: pg.Client
  const apps: string[] = []

  beforeAll(async () => {
    gateway = await startNeonWsGateway()
    admin = await adminClient()
  })
  afterAll(async () => {
    for (const app of apps) await terminateLeftovers(admin, app)
    await admin?.end()
    await gateway?.close()
  })

  function setup(label: string) {
    const app = uniqueApp(label)
    apps.push(app)
    const closes: { reason: CloseEvent['reason']; at: number }[] = []
    const registry = new Registry({
      database: neonWs(gateway, app, { max: 1 }),
      platform: 'aws-lambda',
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      warn: false,
      on: { close: (event) => void closes.push({ reason: event.reason, at: performance.now() }) },
    })
    const backendPid = handler(registry, async () => {
      const { rows } = await registry.database.query<{ pid: number }>('select pg_backend_pid() as pid')
      return rows[0]!.pid
    })
    return { app, registry, closes, backendPid }
  }

  it('closes a socket left unused for idleTimeoutMs (reason idle), with no statement to trigger it', async () => {
    const { app, registry, closes, backendPid } = setup('idle')
    try {
      await within(backendPid(), 3000, 'the invocation')
      const lastUse = performance.now()
      expect(await waitForConnectionCount(1, app)).toBe(1)
      for (let waited = 0; closes.length === 0 && waited < 2000; waited += 10) await sleep(10)
      expect(closes.map((c) => c.reason)).toEqual(['idle'])
      const idleFor = closes[0]!.at - lastUse
      expect(idleFor).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 5)
      expect(idleFor).toBeLessThan(IDLE_TIMEOUT_MS + 1000)
      expect(registry.database.isConnected).toBe(false)
      expect(await waitForConnectionCount(0, app)).toBe(0)
      await expect.poll(() => gateway.openConnections).toBe(0)
      expect(registry.stats().databases.default).toMatchObject({ connects: 1, closes: 1, errors: 0 })
    } finally {
      await registry.disconnect()
    }
  })

  it('keeps a socket used more often than idleTimeoutMs open on the same backend', async () => {
    const { registry, closes, backendPid } = setup('busy')
    try {
      const pids = new Set<number>()
      // Seven uses 80 ms apart: 480 ms in all, over three idle timeouts, never 150 ms idle.
      for (let i = 0; i < 7; i++) {
        pids.add(await within(backendPid(), 3000, `use ${i}`))
        await sleep(80)
      }
      expect(closes).toEqual([])
      expect(pids.size).toBe(1)
      expect(registry.stats().databases.default).toMatchObject({ connects: 1, closes: 0 })
      // Then left alone, it goes as idle.
      for (let waited = 0; closes.length === 0 && waited < 2000; waited += 10) await sleep(10)
      expect(closes.map((c) => c.reason)).toEqual(['idle'])
    } finally {
      await registry.disconnect()
    }
  })
})
