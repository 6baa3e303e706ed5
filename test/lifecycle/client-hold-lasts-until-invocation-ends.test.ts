// A client() hold (Invocation.hold, released by Invocation.end): the warm neon-ws Pool that client() hands
// out inside an invocation is held until that invocation ends, so the idle timer never ends it under an ORM
// that holds it without a connection checked out; once the invocation ends the hold is gone and the Pool
// closes as idle — also when the invocation called client() twice (one hold per owner, released once).
import { describe, expect, it } from 'vitest'
import { handler, type CloseEvent } from '@lazydb/core'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { poll } from '../support/poll.js'
import { poolSuite } from './pool-suite.js'
import { sleep } from './pool-support.js'
import { within } from './support.js'

const pgUp = await requirePostgres()
const IDLE_TIMEOUT_MS = 100

describe.skipIf(!pgUp)('client() inside an invocation', () => {
  const { open } = poolSuite()

  function setup(label: string) {
    const closes: CloseEvent['reason'][] = []
    const on = { close: (event: CloseEvent) => void closes.push(event.reason) }
    const { app, registry } = open(label, { scope: 'warm', idleTimeoutMs: IDLE_TIMEOUT_MS }, { on })
    const closedAsIdle = () => poll(async () => closes.includes('idle'), 1500)
    return { app, registry, closes, closedAsIdle }
  }

  it('keeps the Pool open past idleTimeoutMs while the invocation runs, then lets it close as idle', async () => {
    const { app, registry, closes, closedAsIdle } = setup('held')
    const invoke = handler(registry, async () => {
      const pool = await registry.database.client()
      await sleep(3 * IDLE_TIMEOUT_MS) // nothing checked out of the Pool: only the hold keeps it
      const closedMeanwhile = [...closes]
      const { rows } = await pool.query<{ ok: number }>('select 1 as ok')
      return { closedMeanwhile, rows }
    })
    expect(await within(invoke(), 3000, 'the invocation')).toEqual({ closedMeanwhile: [], rows: [{ ok: 1 }] })
    expect(await closedAsIdle(), `closes: ${JSON.stringify(closes)}`).toBe(true)
    expect(closes).toEqual(['idle'])
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })

  it('called twice in one invocation: the same Pool, still closed as idle once the invocation ends', async () => {
    const { app, registry, closes, closedAsIdle } = setup('twice')
    const invoke = handler(registry, async () => {
      const first = await registry.database.client()
      const second = await registry.database.client()
      await second.query('select 1')
      return first === second
    })
    expect(await within(invoke(), 3000, 'the invocation')).toBe(true)
    expect(await closedAsIdle(), `closes: ${JSON.stringify(closes)}`).toBe(true)
    expect(closes).toEqual(['idle'])
    expect(await waitForConnectionCount(0, app)).toBe(0)
  })
})
