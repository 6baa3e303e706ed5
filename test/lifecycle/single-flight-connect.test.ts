// Single-flight connect (ClientSlot.connect): a burst of first statements from concurrent
// invocations shares one connect — one driver client, one server backend, one connect event — and
// a connect that fails is shared too (every waiter gets the same error from one attempt) and then
// forgotten, so the next statement tries again instead of getting the old failure.
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry, type ConnectEvent } from '@lazydb/core'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { adminClient, neonWs, terminateLeftovers, uniqueApp } from './pool-support.js'
import { settledWithin, within } from './support.js'

const pgUp = await requirePostgres()
const BURST = 25

describe.skipIf(!pgUp)('concurrent first statements', () => {
  let gateway: NeonWsGateway
  let admin: pg.Client
  const apps: string[] = []

  beforeAll(async () => {
    gateway = await startNeonWsGateway()
    admin = await adminClient()
  })
  afterAll(async () => {
    gateway?.refuse(false)
    for (const app of apps) await terminateLeftovers(admin, app)
    await admin?.end()
    await gateway?.close()
  })

  function setup(label: string, retry?: { attempts: number }) {
    const app = uniqueApp(label)
    apps.push(app)
    const connects: ConnectEvent[] = []
    const registry = new Registry({
      // One connection per Pool: a second driver client would show up as a second server backend.
      database: neonWs(gateway, app, { max: 1 }),
      platform: 'aws-lambda',
      warn: false,
      ...(retry === undefined ? {} : { retry }),
      on: { connect: (event) => void connects.push(event) },
    })
    const backendPid = handler(registry, async () => {
      const { rows } = await registry.database.query<{ pid: number }>('select pg_backend_pid() as pid')
      return rows[0]!.pid
    })
    return { app, registry, connects, backendPid }
  }

  it(`${BURST} invocations at once share one connect: one driver client, one server backend`, async () => {
    const { app, registry, connects, backendPid } = setup('burst')
    gateway.resetCounters()
    try {
      const pids = await within(
        Promise.all(Array.from({ length: BURST }, () => backendPid())),
        5000,
        'the burst of invocations',
      )
      expect(new Set(pids).size).toBe(1)
      expect(connects).toHaveLength(1)
      expect(registry.stats().databases.default).toMatchObject({ connects: 1, errors: 0 })
      expect(gateway.connectionsOpened).toBe(1)
      expect(await waitForConnectionCount(1, app)).toBe(1)
    } finally {
      await registry.disconnect()
    }
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })

  it('a failed connect is shared by every waiter, then forgotten: the next statement connects', async () => {
    const { app, registry, connects, backendPid } = setup('failed', { attempts: 1 })
    gateway.refuse(true)
    try {
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => settledWithin(backendPid(), 3000)))
      const reasons = outcomes.map((o) => (o.status === 'rejected' ? o.reason : o))
      for (const reason of reasons) expect(reason).toMatchObject({ code: 'CONNECT_FAILED', database: 'default' })
      // One attempt: every waiter got the very same error, and it was counted once.
      expect(new Set(reasons).size).toBe(1)
      expect(reasons[0]).toBeInstanceOf(LazyDbError)
      expect(registry.stats().databases.default).toMatchObject({ connects: 0, errors: 1 })

      gateway.refuse(false)
      const pid = await within(backendPid(), 3000, 'the invocation after the server came back')
      expect(pid).toBeGreaterThan(0)
      expect(connects).toHaveLength(1)
      expect(registry.stats().databases.default).toMatchObject({ connects: 1, errors: 1 })
    } finally {
      gateway.refuse(false)
      await registry.disconnect()
    }
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })
})
