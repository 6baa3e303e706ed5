// Queries an ORM (or any caller) queues on the raw neon-ws Pool from client() are never left pending
// when lazydb closes that Pool: a forced disconnect settles them at once (the Pool's own error, since
// they are the driver's calls), a plain disconnect lets the queued ones run first, and in request scope
// a query left un-awaited at the end of a handler is served (or settled) when the invocation's Pool
// closes. Each raw query races a deadline; 'pending' is the failure.
import type { Pool } from '@neondatabase/serverless'
import { describe, expect, it } from 'vitest'
import { handler, type Registry } from '@lazydb/core'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { poolSuite } from './pool-suite.js'
import { type Outcome, settledWithin, settleWithin, sleep, track, type Tracked } from './pool-support.js'

const pgUp = await requirePostgres()

/** 'pending', 'resolved', or 'rejected' (raw Pool errors are the driver's, not LazyDbErrors). */
const state = (outcome: Outcome<unknown>) => outcome.state
const states = (tracked: readonly Tracked<unknown>[]) => tracked.map((t) => state(t.outcome))

describe.skipIf(!pgUp)('raw Pool queries from client() settle when lazydb closes the Pool', () => {
  const { open } = poolSuite()

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
    const { app, registry } = open('raw-force', { max: 1 })
    const { running, queued } = await busyPool(registry)
    expect(state(await settledWithin(registry.disconnect({ force: true }), 2000))).toBe('resolved')
    await settleWithin([running, queued], 1500)
    expect(states([running, queued])).toEqual(['rejected', 'rejected'])
    expect(await waitForConnectionCount(0, app, 2000)).toBe(0)
  })

  it('warm, max 1: disconnect() lets the queued raw query run, then closes', async () => {
    const { app, registry } = open('raw-graceful', { max: 1 })
    const { running, queued } = await busyPool(registry)
    const disconnected = track(registry.disconnect())
    await settleWithin([running, queued, disconnected], 3000)
    expect(states([running, queued, disconnected])).toEqual(['resolved', 'resolved', 'resolved'])
    expect(await waitForConnectionCount(0, app, 2000)).toBe(0)
  })

  it('request scope, max 1: raw queries left un-awaited when the handler returns all settle', async () => {
    const { app, registry } = open('raw-request', { scope: 'request', max: 1 })
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
