// Request scope (DatabaseRuntime's request slot, closed by Invocation.end): a request-scoped
// database gives each invocation a client of its own — every statement of one invocation on one
// server backend, two invocations running at once on two — and closes it when the invocation ends
// (close reason 'request-end', before the call returns where the platform has no waitUntil), so no
// server backend outlives its invocation and the next invocation connects afresh.
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, Registry, type CloseEvent } from '@lazydb/core'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { adminClient, neonWs, terminateLeftovers, uniqueApp } from './pool-support.js'
import { within } from './support.js'

const pgUp = await requirePostgres()

describe.skipIf(!pgUp)('a request-scoped database', () => {
  let gateway: NeonWsGateway
  let admin: pg.Client
  const app = uniqueApp('request')

  beforeAll(async () => {
    gateway = await startNeonWsGateway()
    admin = await adminClient()
  })
  afterAll(async () => {
    await terminateLeftovers(admin, app)
    await admin?.end()
    await gateway?.close()
  })

  it('gives each invocation its own client and closes it when the invocation ends', async () => {
    const closes: CloseEvent['reason'][] = []
    const registry = new Registry({
      database: neonWs(gateway, app, { max: 1, scope: 'request' }),
      platform: 'node',
      warn: false,
      on: { close: (event) => void closes.push(event.reason) },
    })
    const db = registry.database
    const pid = async () => (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid
    let bothRunning!: () => void
    let running = 0
    const together = new Promise<void>((resolve) => (bothRunning = resolve))
    // Three statements (two at once), with a pause that keeps two invocations in flight together.
    const invoke = handler(registry, async (waitForTheOther: boolean) => {
      const first = await pid()
      if (waitForTheOther && ++running === 2) bothRunning()
      if (waitForTheOther) await together
      const [second, third] = await Promise.all([pid(), pid()])
      expect(db.isConnected).toBe(true)
      return [first, second, third]
    })
    try {
      const [a, b] = await within(Promise.all([invoke(true), invoke(true)]), 5000, 'two concurrent invocations')
      // Within an invocation: one backend.
      expect(new Set(a).size).toBe(1)
      expect(new Set(b).size).toBe(1)
      // Across two invocations in flight together: two.
      expect(a[0]).not.toBe(b[0])
      // Both closed by the time the calls returned (no waitUntil on node): nothing is left on the server.
      expect(closes).toEqual(['request-end', 'request-end'])
      expect(await waitForConnectionCount(0, app)).toBe(0) // server backends exit asynchronously: polled
      expect(db.isConnected).toBe(false)

      const [c] = await within(invoke(false), 3000, 'a third invocation')
      expect([a[0], b[0]]).not.toContain(c)
      expect(closes).toEqual(['request-end', 'request-end', 'request-end'])
      expect(registry.stats().databases.default).toMatchObject({ scope: 'request', connects: 3, closes: 3, errors: 0 })
      expect(await waitForConnectionCount(0, app)).toBe(0)
    } finally {
      await registry.disconnect()
    }
  })
})
