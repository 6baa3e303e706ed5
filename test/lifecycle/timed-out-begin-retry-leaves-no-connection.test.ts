// A request-scoped neon-ws invocation times out while its transaction's BEGIN waits to be retried
// (its connection was dropped, the gateway refused new ones). The retry happens after the invocation
// has ended: it must not open a connection for the ended invocation that nobody closes. Every client
// lazydb creates gets a close event, and the app's backends go back to 0 without a disconnect().
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CloseEvent, type ConnectEvent, handler, Registry } from '@lazydb/core'
import { type NeonWsGateway, startNeonWsGateway } from '../support/neon-ws-gateway.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import {
  adminClient,
  backendsOf,
  describeOutcome,
  neonWs,
  settledWithin,
  sleep,
  terminateLeftovers,
  track,
  uniqueApp,
} from './pool-support.js'
import { poll } from '../support/poll.js'

const pgUp = await requirePostgres()

describe.skipIf(!pgUp)('a BEGIN retried after its invocation timed out', () => {
  let gateway: NeonWsGateway
  let admin: pg.Client

  beforeAll(async () => {
    gateway = await startNeonWsGateway() // its own: this test refuses and drops every connection on it
    admin = await adminClient()
  })
  afterAll(async () => {
    await admin?.end()
    await gateway?.close()
  })

  it('request scope, idleTimeoutMillis 0, retry delay ≥ 800 ms, timeoutMs 300: no connection is left', async () => {
    const app = uniqueApp('begin-retry')
    const connects: ConnectEvent[] = []
    const closes: CloseEvent[] = []
    const registry = new Registry({
      database: neonWs(gateway, app, { scope: 'request', idleTimeoutMillis: 0 }),
      platform: 'node',
      warn: false,
      retry: { baseDelayMs: 1600, maxDelayMs: 1600, totalMs: 8000 }, // the retry comes 0.8–1.6 s later
      on: { connect: (e) => void connects.push(e), close: (e) => void closes.push(e) },
    })
    const db = registry.database
    let transaction: ReturnType<typeof track<unknown>> | undefined
    const invoke = handler(
      registry,
      async () => {
        await db.query('select 1') // this invocation's Pool, with one connection
        gateway.refuse(true)
        gateway.dropAll() // that connection dies; new ones are refused
        await sleep(50)
        transaction = track(db.transaction((tx) => tx.query('select 1')))
        await transaction.promise
      },
      { timeoutMs: 300 },
    )
    try {
      expect(describeOutcome(await settledWithin(invoke(), 3000))).toBe('rejected TIMEOUT')
      await sleep(200)
      gateway.refuse(false) // the BEGIN's retry, 1.2 s after it failed, can connect
      await settledWithin(transaction!.promise, 5000)
      // It settles (main: CLOSED, as work of the timed-out invocation), with a LazyDbError if it rejects.
      expect(describeOutcome(transaction!.outcome)).toMatch(/^(resolved|rejected [A-Z_]+)$/)

      // Whatever the retry connected is closed again, with nothing left on the server.
      expect(await waitForConnectionCount(0, app, 3000), JSON.stringify(await backendsOf(admin, app))).toBe(0)
      expect(connects.length).toBeGreaterThanOrEqual(2)
      expect(await poll(async () => closes.length === connects.length, 2000)).toBe(true)
      const { connects: counted, closes: closed } = registry.stats().databases.default!
      expect(closed).toBe(counted)
    } finally {
      gateway.refuse(false)
      await settledWithin(registry.disconnect({ force: true }), 2000)
      await terminateLeftovers(admin, app)
    }
  })
})
