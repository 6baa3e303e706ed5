// disconnect({ force: true }) reaches an invocation that is still ending: a request-scoped function
// returned while a transaction it did not await runs a statement (a pg_sleep), so its leave waits
// for the (non-forced) rollback behind that statement and the handler call is still pending. The
// forced disconnect drops that rollback at once, closing the client: the call settles within 500 ms,
// not when the sleep ends, and no backend of the app is left behind.
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, Registry } from '@lazydb/core'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { adminClient, backendsOf, neonWs, sleep, terminateLeftovers, uniqueApp } from './pool-support.js'
import { settledWithin, within } from './support.js'

const pgUp = await requirePostgres()
const SLEEP_S = 1.5

describe.skipIf(!pgUp)('a forced disconnect while a request-scoped invocation is still ending', () => {
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

  const active = async (app: string) => (await backendsOf(admin, app)).filter((b) => b.state === 'active')

  it(`drops its rollback waiting behind a pg_sleep(${SLEEP_S}): the call settles within 500 ms`, async () => {
    const app = uniqueApp('force-ending')
    const registry = new Registry({
      database: neonWs(gateway, app, { max: 1, scope: 'request' }),
      platform: 'node',
      warn: false,
    })
    let transaction: Promise<unknown> | undefined
    const invoke = handler(registry, async () => {
      transaction = registry.database.transaction((tx) => tx.query(`select pg_sleep(${SLEEP_S})`))
      transaction.catch(() => undefined)
      // Return only once the sleep runs on the server: the leave's rollback then waits behind it.
      const deadline = Date.now() + 3000
      while ((await active(app)).length === 0 && Date.now() < deadline) await sleep(10)
      return 'returned'
    })
    try {
      const call = invoke()
      call.catch(() => undefined)
      // Still ending: the function returned, the rollback waits for the running statement.
      await within(
        (async () => {
          while ((await active(app)).length === 0) await sleep(10)
        })(),
        3000,
        'the sleep starting on the server',
      )
      expect((await settledWithin(call, 100)).status, 'the call while its rollback waits').toBe('pending')

      const forcedAt = Date.now()
      await within(registry.disconnect({ force: true }), 500, 'the forced disconnect')
      const outcome = await settledWithin(call, 500)
      expect(outcome.status, `the call ${Date.now() - forcedAt} ms after the forced disconnect`).not.toBe('pending')
      expect(outcome).toEqual({ status: 'fulfilled', value: 'returned' })
      expect(await settledWithin(transaction!, 500)).toMatchObject({ status: 'rejected', reason: { code: 'CLOSED' } })
      expect(Date.now() - forcedAt, 'all settled before the sleep could end').toBeLessThan(SLEEP_S * 1000)
      // The client is closed; the server notices when the sleep ends (PostgreSQL does not watch the
      // socket during pg_sleep), and then nothing of the app is left: no backend idle in transaction.
      expect(await waitForConnectionCount(0, app, 3000)).toBe(0)
    } finally {
      await settledWithin(registry.disconnect({ force: true }), 2000)
      await terminateLeftovers(admin, app)
    }
  })
})
