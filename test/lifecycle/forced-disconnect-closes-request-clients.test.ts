// disconnect({ force: true }) also ends the invocations in flight: a request-scoped neon-ws client
// that a running handler opened is closed under it, so its statement (a pg_sleep(2)) rejects with
// CLOSED at once instead of finishing, the handler settles, and its backend goes away (PostgreSQL
// notices the closed client when the sleep ends) — nothing of the app is left on the server.
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, type LazyDbError, Registry } from '@lazydb/core'
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

const pgUp = await requirePostgres()

describe.skipIf(!pgUp)('disconnect({ force: true }) closes the request clients of running invocations', () => {
  let gateway: NeonWsGateway
  let admin: pg.Client

  beforeAll(async () => {
    gateway = await startNeonWsGateway()
    admin = await adminClient()
  })
  afterAll(async () => {
    await admin?.end()
    await gateway?.close()
  })

  it('a handler running pg_sleep(2) on its request client: CLOSED within 1 s, backend gone', async () => {
    const app = uniqueApp('force-request')
    const registry = new Registry({
      database: neonWs(gateway, app, { scope: 'request' }),
      platform: 'node',
      warn: false,
    })
    let statement: ReturnType<typeof track<unknown>> | undefined
    const invoke = handler(registry, async () => {
      statement = track(registry.database.query('select pg_sleep(2)'))
      return statement.promise
    })
    try {
      const invocation = track(invoke())
      // Wait until the sleep runs on the server, so the close really cuts a statement in flight.
      const deadline = Date.now() + 3000
      while (!(await backendsOf(admin, app)).some((b) => b.state === 'active') && Date.now() < deadline) await sleep(20)

      const forcedAt = Date.now()
      expect(describeOutcome(await settledWithin(registry.disconnect({ force: true }), 1000))).toBe('resolved')
      await settledWithin(statement!.promise, 1000)
      const cutAfter = Date.now() - forcedAt
      expect(describeOutcome(statement!.outcome), `${cutAfter} ms after the forced disconnect`).toBe('rejected CLOSED')
      const error = (statement!.outcome as { error: LazyDbError }).error
      expect(error.mayHaveRun).toBe(true)
      expect(describeOutcome(await settledWithin(invocation.promise, 1000))).toBe('rejected CLOSED')

      expect(await waitForConnectionCount(0, app, 3000)).toBe(0)
    } finally {
      await settledWithin(registry.disconnect({ force: true }), 2000)
      await terminateLeftovers(admin, app)
    }
  })
})
