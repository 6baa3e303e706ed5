// A forced disconnect rejects at once a statement whose checkout is still opening a new connection
// (the Pool has not queued it: it is dialling), instead of letting it run, or fail, once the slow
// handshake completes after the database was closed.
import { describe, expect, it } from 'vitest'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { poolSuite } from './pool-suite.js'
import { backendsOf, outcomes, settleWithin, sleep, track } from './pool-support.js'

const pgUp = await requirePostgres()

// Every message and the WebSocket upgrade wait this long each way: a new connection takes well over a second.
const DELAY_MS = 150

describe.skipIf(!pgUp)('forced disconnect while a checkout opens a new connection', () => {
  const { admin, open } = poolSuite({ delayMs: DELAY_MS })

  it(
    'neon-ws, max 2: the dialling statement is CLOSED within 250 ms, ' + 'the running one settles, 0 connections',
    async () => {
      const { app, registry } = open('dialling', { max: 2, scope: 'warm' })
      await registry.database.query('select 1')
      const running = track(registry.database.query('select pg_sleep(2)'))
      // The one connection is busy: the next statement makes the Pool dial a second one.
      const dialling = track(registry.database.query('select 2 as two'))
      await sleep(2 * DELAY_MS + 50) // the upgrade is under way, far from done
      expect((await backendsOf(admin, app)).length, 'only the first connection reached the server').toBe(1)

      const forcedAt = performance.now()
      const disconnected = track(registry.disconnect({ force: true }))
      await settleWithin([dialling], 250)
      const waitedMs = performance.now() - forcedAt

      expect(outcomes([dialling]), `after ${waitedMs.toFixed(0)} ms`).toEqual(['rejected CLOSED'])
      await settleWithin([running, disconnected], 5000)
      expect(outcomes([running])).toEqual(['rejected CLOSED'])
      expect(outcomes([disconnected])).toEqual(['resolved'])
      expect(await waitForConnectionCount(0, app)).toBe(0)
    },
  )
})
