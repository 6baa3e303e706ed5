// Closing a neon-ws Pool settles every waiter: statements running on it and statements queued for
// one of its connections each get a result or a LazyDbError (CLOSED, CONNECTION_LOST), never stay
// pending — on disconnect(), disconnect({ force }), a backend terminated under load, the end of a
// timed-out request-scoped invocation, and a forced disconnect in the middle of a burst. A plain
// disconnect() waits for the statements already asked for. No server connection is left behind.
import { describe, expect, it } from 'vitest'
import { handler, LazyDbError, type Registry } from '@lazydb/core'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { poolSuite } from './pool-suite.js'
import { backendsOf, outcomes, settledWithin, settleWithin, sleep, track, type Tracked } from './pool-support.js'

const pgUp = await requirePostgres()

const DEADLINE_MS = 3000

describe.skipIf(!pgUp)('closing a neon-ws Pool settles every waiter', () => {
  const { admin, open } = poolSuite()

  /** Polls until `count` backends of `app` are running pg_sleep (the pool is connected and busy). */
  async function untilSleeping(app: string, count: number): Promise<void> {
    const deadline = Date.now() + 3000
    while (Date.now() < deadline) {
      const running = (await backendsOf(admin, app)).filter((b) => b.state === 'active' && /pg_sleep/.test(b.query))
      if (running.length >= count) return
      await sleep(10)
    }
    throw new Error(`fewer than ${count} backends of ${app} ran pg_sleep within 3 s`)
  }

  const sleepers = (registry: Registry, seconds: number) =>
    Array.from({ length: 8 }, (_, i) => track(registry.database.query(`select pg_sleep(${seconds}), ${i} as i`)))

  const WHEN = [
    { when: 'right after they were started (the pool is still connecting)', running: 0 },
    { when: 'once two run and six wait for a connection', running: 2 },
  ]

  describe.each(WHEN)('disconnect() $when', ({ running }) => {
    it('warm, max 2: all 8 pg_sleep(0.3) resolve, disconnect resolves, 0 server connections', async () => {
      const { app, registry } = open('close', { max: 2, scope: 'warm' })
      const queries = sleepers(registry, 0.3)
      if (running > 0) await untilSleeping(app, running)
      const disconnected = track(registry.disconnect())
      await settleWithin([...queries, disconnected], DEADLINE_MS)

      // A non-forced close waits until no lease holds the client: every statement asked for gets its result.
      expect(outcomes(queries)).toEqual(Array(8).fill('resolved'))
      expect(outcomes([disconnected])).toEqual(['resolved'])
      expect(await waitForConnectionCount(0, app)).toBe(0)
    })
  })

  describe.each(WHEN)('disconnect({ force: true }) $when', ({ running }) => {
    it('warm, max 2: all 8 settle, each resolved or LazyDbError CLOSED; 0 server connections', async () => {
      const { app, registry } = open('force', { max: 2, scope: 'warm' })
      const queries = sleepers(registry, 0.3)
      if (running > 0) await untilSleeping(app, running)
      const disconnected = track(registry.disconnect({ force: true }))
      await settleWithin([...queries, disconnected], DEADLINE_MS)

      const seen = outcomes(queries)
      const unexpected = seen.filter((o) => o !== 'resolved' && o !== 'rejected CLOSED')
      expect(unexpected, `outcomes: ${seen.join(', ')}`).toEqual([])
      expect(outcomes([disconnected])).toEqual(['resolved'])
      expect(await waitForConnectionCount(0, app)).toBe(0)
    })
  })

  // The one statement whose backend is terminated fails; the 7 others (running or queued) resolve.
  it('pg_terminate_backend of one busy backend (max 2): CONNECTION_LOST for it alone, then queries work', async () => {
    const { app, registry } = open('terminate', { max: 2, scope: 'warm' })
    const queries = sleepers(registry, 0.3)
    // Pick a backend that has just started its pg_sleep and terminate it in the same statement,
    // so the statement killed is the one named in the query text.
    let victim: { pid: number; query: string; killed: boolean } | undefined
    const deadline = Date.now() + 3000
    while (victim === undefined && Date.now() < deadline) {
      const { rows } = await admin.query<{ pid: number; query: string; killed: boolean }>(
        `with victim as materialized (
           select pid, query from pg_stat_activity
            where application_name = $1 and state = 'active' and query like '%pg_sleep%'
              and clock_timestamp() - query_start < interval '150 milliseconds'
            limit 1)
         select pid, query, pg_terminate_backend(pid) as killed from victim`,
        [app],
      )
      victim = rows[0]
      if (victim === undefined) await sleep(5)
    }
    expect(victim?.killed, 'no backend of this app ran pg_sleep within 3 s').toBe(true)
    const killedIndex = Number(/, (\d+) as i/.exec(victim!.query)?.[1])

    await settleWithin(queries, DEADLINE_MS)
    const expected = queries.map((_, i) => (i === killedIndex ? 'rejected CONNECTION_LOST' : 'resolved'))
    expect(outcomes(queries)).toEqual(expected)

    const next = await settledWithin(registry.database.query<{ ok: number }>('select 1 as ok'), DEADLINE_MS)
    expect(next).toMatchObject({ state: 'resolved', value: { rows: [{ ok: 1 }] } })
    await settledWithin(registry.disconnect(), DEADLINE_MS)
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })

  // The call rejects TIMEOUT; fn's 8 statements each resolve or reject CLOSED; 0 server connections after.
  it('request scope, handler timeoutMs 200: TIMEOUT, and all 8 pg_sleep(0.5) of fn settle', async () => {
    const { app, registry } = open('timeout', { max: 2, scope: 'request' })
    const queries: Tracked<unknown>[] = []
    const invoke = handler(
      registry,
      async () => {
        queries.push(...sleepers(registry, 0.5))
        await Promise.all(queries.map((q) => q.promise))
      },
      { timeoutMs: 200 },
    )
    const call = track(invoke())
    await settleWithin([call], DEADLINE_MS)
    expect(outcomes([call])).toEqual(['rejected TIMEOUT'])

    await settleWithin(queries, DEADLINE_MS)
    const seen = outcomes(queries)
    expect(seen).toHaveLength(8)
    const unexpected = seen.filter((o) => o !== 'resolved' && o !== 'rejected CLOSED')
    expect(unexpected, `outcomes: ${seen.join(', ')}`).toEqual([])
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })

  // After ~50 of 200 invocations have started, a forced disconnect: all 200 settle within 10 s.
  it('burst of 200 invocations (warm, max 5), disconnect({ force: true }) midway: none left pending', async () => {
    const { app, registry } = open('burst', { max: 5, scope: 'warm' })
    let started = 0
    const invoke = handler(registry, async () => {
      started++
      return (await registry.database.query('select pg_sleep(0.01)')).rowCount
    })
    const calls: Tracked<unknown>[] = []
    let forced: Tracked<void> | undefined
    const forceOnce = () => {
      // "After ~50 started", and once the pool is really serving (not while it is still connecting).
      if (forced === undefined && started >= 50 && registry.database.isConnected) {
        forced = track(registry.disconnect({ force: true }))
      }
    }
    const launchedAt = performance.now()
    for (let i = 0; i < 200; i++) {
      calls.push(track(invoke()))
      forceOnce()
      await sleep(1) // faster than 5 connections drain pg_sleep(0.01): a queue builds up in the pool
    }
    for (let i = 0; forced === undefined && i < 500; i++) {
      forceOnce()
      if (forced === undefined) await sleep(2)
    }
    expect(forced, 'the pool never connected').toBeDefined()

    await settleWithin([...calls, forced!], 10_000 - (performance.now() - launchedAt))
    const seen = outcomes(calls)
    const pending = seen.filter((o) => o === 'pending').length
    const foreign = seen.filter((o) => o.startsWith('rejected (not a LazyDbError)'))
    const counts = `resolved ${seen.filter((o) => o === 'resolved').length}, rejected ${
      seen.filter((o) => o.startsWith('rejected')).length
    }`
    expect({ pending, foreign }, counts).toEqual({ pending: 0, foreign: [] })
    for (const call of calls) {
      if (call.outcome.state === 'rejected') expect(call.outcome.error).toBeInstanceOf(LazyDbError)
    }
    expect(outcomes([forced!])).toEqual(['resolved'])

    await settledWithin(registry.disconnect(), DEADLINE_MS)
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })
})
