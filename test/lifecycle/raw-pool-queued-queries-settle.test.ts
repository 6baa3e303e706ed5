// Queries an ORM (or any caller) queues on the raw neon-ws Pool from client() are never left pending
// when lazydb closes that Pool: a forced disconnect settles them at once (the Pool's own error, since
// they are the driver's calls), a plain disconnect lets the queued ones run first, and in request scope
// a query left un-awaited at the end of a handler is served (or settled) when the invocation's Pool
// closes. Each raw query races a deadline; 'pending' is the failure.
import type { Pool } from '@neondatabase/serverless'
import type pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { handler, Registry } from '@lazydb/core'
import type { NeonOptions } from '@lazydb/core/neon'
import { type NeonWsGateway, startNeonWsGateway } from '../support/neon-ws-gateway.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import {
  adminClient,
  neonWs,
  type Outcome,
  settledWithin,
  settleWithin,
  sleep,
  terminateLeftovers,
  track,
  type Tracked,
  uniqueApp,
} from './pool-support.js'

const pgUp = await requirePostgres()

/** 'pending', 'resolved', or 'rejected' (raw Pool errors are the driver's, not LazyDbErrors). */
const state = (outcome: Outcome<unknown>) => outcome.state
const states = (tracked: readonly Tracked<unknown>[]) => tracked.map((t) => state(t.outcome))

describe.skipIf(!pgUp)('raw Pool queries from client() settle when lazydb closes the Pool', () => {
  let gateway: NeonWsGateway
  let admin: pg.Client
  const opened: { app: string; registry: Registry }[] = []

  beforeAll(async () => {
    gateway = await startNeonWsGateway()
    admin = await adminClient()
  })
  afterEach(async () => {
    for (const { app, registry } of opened.splice(0)) {
      await settledWithin(registry.disconnect({ force: true }), 2000)
      await terminateLeftovers(admin, app)
    }
  })
  afterAll(async () => {
    await admin?.end()
    await gateway?.close()
  })

  function setup(label: string, options: NeonOptions) {
    const app = uniqueApp(label)
    const registry = new Registry({ database: neonWs(gateway, app, options), platform: 'node', warn: false })
    opened.push({ app, registry })
    return { app, registry }
  }

  /** Connected Pool (max 1) with one raw query running pg_sleep(0.5) and one queued behind it. */
  async function busyPool(registry: Registry) {
    await registry.connect()
    const pool = (await registry.database.client()) as Pool
    const running = track(pool.query('select pg_sleep(0.5)'))
    const queued = track(pool.query('select 1 as one'))
    await sleep(100)
    expect(states([running, queued])).toEqual(['pending', 'pending'])
    return { running, queued }
  }

  it('warm, max 1: disconnect({ force: true }) settles the running and the queued raw query', async () => {
    const { app, registry } = setup('raw-force', { max: 1 })
    const { running, queued } = await busyPool(registry)
    expect(state(await settledWithin(registry.disconnect({ force: true }), 2000))).toBe('resolved')
    await settleWithin([running, queued], 1500)
    expect(states([running, queued])).toEqual(['rejected', 'rejected'])
    expect(await waitForConnectionCount(0, app, 2000)).toBe(0)
  })

  it('warm, max 1: disconnect() lets the queued raw query run, then closes', async () => {
    const { app, registry } = setup('raw-graceful', { max: 1 })
    const { running, queued } = await busyPool(registry)
    const disconnected = track(registry.disconnect())
    await settleWithin([running, queued, disconnected], 3000)
    expect(states([running, queued, disconnected])).toEqual(['resolved', 'resolved', 'resolved'])
    expect(await waitForConnectionCount(0, app, 2000)).toBe(0)
  })

  it('request scope, max 1: raw queries left un-awaited when the handler returns all settle', async () => {
    const { app, registry } = setup('raw-request', { scope: 'request', max: 1 })
    let left: Tracked<unknown>[] = []
    const invoke = handler(registry, async () => {
      const pool = (await registry.database.client()) as Pool
      left = [pool.query('select pg_sleep(0.3)'), pool.query('select 1'), pool.query('select 2')].map((p) => track(p))
      return 'returned without awaiting'
    })
    expect(state(await settledWithin(invoke(), 3000))).toBe('resolved')
    await settleWithin(left, 3000)
    expect(states(left)).not.toContain('pending')
    expect(await waitForConnectionCount(0, app, 2000)).toBe(0)
  })
})
