// Work through client() is a lease on the warm neon-ws Pool: the idle timer never ends the Pool
// under a connection the user checked out of it (inside an invocation, or outside any handler),
// the Pool closes as idle only once that work is over, and a Pool the user ended themselves is
// replaced by a new one instead of being handed out again.
import { describe, expect, it } from 'vitest'
import { handler, type CloseEvent } from '@lazydb/core'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { poll } from '../support/poll.js'
import { poolSuite } from './pool-suite.js'
import { describeOutcome, settledWithin, sleep, type Outcome } from './pool-support.js'

const pgUp = await requirePostgres()

const DEADLINE_MS = 3000

/** 'resolved', 'pending', or the rejection's message (errors here come from the raw Pool too, not only lazydb). */
const shown = (outcome: Outcome<unknown>) =>
  outcome.state === 'rejected' ? String((outcome.error as Error | undefined)?.message ?? outcome.error) : outcome.state

describe.skipIf(!pgUp)('client() on neon-ws is a lease', () => {
  const { admin, open, afterTest } = poolSuite()

  function setup(label: string) {
    const closes: CloseEvent[] = []
    const on = { close: (event: CloseEvent) => void closes.push(event) }
    const { app, registry } = open(label, { scope: 'warm', idleTimeoutMs: 100 }, { on })
    return { app, registry, closes }
  }

  // Inside the handler: begin, a 300 ms pause, insert, commit on pool.connect(), then a query on
  // the Pool; nothing closes under it. Once the handler has ended, the Pool goes as idle.
  it('idleTimeoutMs 100: a paused transaction on pool.connect() in the handler commits', async () => {
    const { app, registry, closes } = setup('tx')
    const table = `lazydb_pool_lease_${process.pid}_${app.split('-').at(-1)}`
    await admin.query(`create table ${table} (n int)`)
    afterTest(() => admin.query(`drop table if exists ${table}`))

    const invoke = handler(registry, async () => {
      const pool = await registry.database.client()
      const c = await pool.connect()
      try {
        await c.query('begin')
        await sleep(300)
        await c.query(`insert into ${table} values (1)`)
        await c.query('commit')
      } finally {
        c.release()
      }
      // Still the same invocation: the Pool it took is still its to use.
      return (await pool.query<{ ok: number }>('select 1 as ok')).rows
    })
    const call = await settledWithin(invoke(), DEADLINE_MS)
    expect.soft(shown(call), 'the handler').toBe('resolved')
    expect.soft(call).toMatchObject({ value: [{ ok: 1 }] })
    const { rows } = await admin.query<{ n: number }>(`select count(*)::int as n from ${table}`)
    expect.soft(rows[0]!.n, 'committed rows').toBe(1)
    expect.soft(closes, 'closes while the handler ran').toEqual([])

    // Once the handler is over, nothing holds the Pool: it goes as idle.
    await sleep(400)
    const idleClosed = () => closes.some((e) => e.reason === 'idle') || registry.stats().databases.default!.closes >= 1
    expect(await poll(async () => idleClosed(), 1000), `closes: ${JSON.stringify(closes)}`).toBe(true)
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })

  // client() after the user's own end() returns a new Pool; queries on it and through query() work.
  it('a Pool the user ended is not handed out again', async () => {
    const { app, registry } = setup('ended')
    const invoke = handler(registry, async () => {
      const first = await registry.database.client()
      await first.end()
      const second = await registry.database.client()
      const viaQuery = await settledWithin(registry.database.query<{ ok: number }>('select 1 as ok'), DEADLINE_MS)
      const viaPool = await settledWithin(second.query<{ ok: number }>('select 2 as ok'), DEADLINE_MS)
      return { same: first === second, viaQuery, viaPool }
    })
    const call = await settledWithin(invoke(), 3 * DEADLINE_MS)
    expect(describeOutcome(call)).toBe('resolved')
    const { same, viaQuery, viaPool } = (call as { value: Awaited<ReturnType<typeof invoke>> }).value
    expect.soft(same, 'client() after end() returned the ended Pool').toBe(false)
    expect.soft(shown(viaQuery), 'db.query after the user ended the Pool').toBe('resolved')
    expect.soft(shown(viaPool), 'a query on the Pool client() returned next').toBe('resolved')
    expect(viaQuery).toMatchObject({ value: { rows: [{ ok: 1 }] } })
    expect(viaPool).toMatchObject({ value: { rows: [{ ok: 2 }] } })

    expect(describeOutcome(await settledWithin(registry.disconnect(), DEADLINE_MS))).toBe('resolved')
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })

  // No idle close while a connection is checked out of the raw Pool (held 300 ms), and the Pool
  // still serves right after its release.
  it('outside any handler, idleTimeoutMs 100: a checked-out connection keeps the Pool open', async () => {
    const { app, registry, closes } = setup('held')
    const pool = await registry.database.client()
    const c = await pool.connect()
    let held: Outcome<unknown>
    try {
      await sleep(300)
      expect.soft(closes, 'closes while a connection was checked out').toEqual([])
      held = await settledWithin(c.query<{ ok: number }>('select 1 as ok'), DEADLINE_MS)
    } finally {
      c.release()
    }
    expect(held).toMatchObject({ state: 'resolved', value: { rows: [{ ok: 1 }] } })
    // The Pool the timer left alone still serves: right after the release it is not past its idle time.
    const again = await settledWithin(pool.query<{ ok: number }>('select 2 as ok'), DEADLINE_MS)
    expect(shown(again), 'a query on the same Pool right after the release').toBe('resolved')

    expect(describeOutcome(await settledWithin(registry.disconnect(), DEADLINE_MS))).toBe('resolved')
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })
})
