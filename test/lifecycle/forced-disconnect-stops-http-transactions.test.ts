// disconnect({ force: true }) stops a transaction in progress on the HTTP drivers too: on neon-http
// (whose transaction() runs over a WebSocket session) and on PlanetScale (a session of HTTP calls),
// the transaction's next statement rejects with CLOSED, transaction() rejects, and nothing of it is
// committed — checked through an independent connection to the real server.
import type pg from 'pg'
import ws from 'ws'
import type { Connection } from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Registry, type Transaction } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { planetscale } from '@lazydb/core/planetscale'
import { mysqlDirect, requireMariadb } from '../support/mariadb.js'
import { type NeonHttpGateway, startNeonHttpGateway } from '../support/neon-http-gateway.js'
import { type NeonWsGateway, startNeonWsGateway } from '../support/neon-ws-gateway.js'
import { type PlanetscaleGateway, startPlanetscaleGateway } from '../support/planetscale-gateway.js'
import { poll } from '../support/poll.js'
import { pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import {
  adminClient,
  describeOutcome,
  settledWithin,
  sleep,
  terminateLeftovers,
  track,
  uniqueApp,
} from './pool-support.js'

const pgUp = await requirePostgres()
const mariadbUp = await requireMariadb()

/**
 * Starts a transaction that inserts, pauses 400 ms, then inserts again; forces a disconnect 200 ms in.
 * Returns how its second statement and the transaction itself settled.
 */
async function forceDuringTransaction(registry: Registry, insert: (tx: Transaction) => Promise<unknown>) {
  let second: ReturnType<typeof track<unknown>> | undefined
  const transaction = track(
    registry.database.transaction(async (tx) => {
      await insert(tx)
      await sleep(400)
      second = track(insert(tx))
      await second.promise
      return 'committed'
    }),
  )
  await sleep(200)
  expect(describeOutcome(await settledWithin(registry.disconnect({ force: true }), 2000))).toBe('resolved')
  await settledWithin(transaction.promise, 2000)
  return { second: second === undefined ? 'never ran' : describeOutcome(second.outcome), transaction }
}

describe.skipIf(!pgUp)('neon-http: disconnect({ force: true }) during transaction()', () => {
  let gateway: NeonWsGateway
  let http: NeonHttpGateway
  let admin: pg.Client
  const table = `lazydb_rv_force_http_tx_${process.pid}`

  beforeAll(async () => {
    gateway = await startNeonWsGateway()
    http = await startNeonHttpGateway()
    admin = await adminClient()
    await admin.query(`create table ${table} (tag text not null)`)
  })
  afterAll(async () => {
    await admin?.query(`drop table if exists ${table}`)
    await admin?.end()
    await gateway?.close()
    await http?.close()
  })

  it('the next statement is CLOSED, nothing is committed, the session is gone', async () => {
    const app = uniqueApp('force-http-tx')
    const url = pgUrlFor('ep-lazydb-test.neon.tech', { password: 'not-checked', applicationName: app })
    const registry = new Registry({
      database: neon(url, {
        fetchEndpoint: http.endpoint,
        wsProxy: gateway.wsProxy,
        useSecureWebSocket: false,
        pipelineConnect: false,
        webSocketConstructor: ws,
      }),
      platform: 'node',
      warn: false,
    })
    try {
      const { second, transaction } = await forceDuringTransaction(registry, (tx) =>
        tx.query(`insert into ${table} (tag) values ($1)`, [app]),
      )
      const { rows } = await admin.query(`select count(*)::int as n from ${table} where tag = $1`, [app])
      expect(rows, 'rows committed').toEqual([{ n: 0 }])
      expect(second).toBe('rejected CLOSED')
      expect(describeOutcome(transaction.outcome)).toBe('rejected CLOSED')
      expect(await waitForConnectionCount(0, app, 2000)).toBe(0)
    } finally {
      await terminateLeftovers(admin, app)
    }
  })
})

describe.skipIf(!mariadbUp)('PlanetScale: disconnect({ force: true }) during transaction()', () => {
  let ps: PlanetscaleGateway
  let my: Connection
  const table = `lazydb_rv_force_ps_tx_${process.pid}`

  beforeAll(async () => {
    ps = await startPlanetscaleGateway()
    my = await mysqlDirect()
    await my.query(`create table ${table} (tag varchar(200) not null)`)
  })
  afterAll(async () => {
    await my?.query(`drop table if exists ${table}`)
    await my?.end()
    await ps?.close()
  })

  it('the next statement is CLOSED, nothing is committed, no session stays pinned', async () => {
    const tag = uniqueApp('force-ps-tx')
    const registry = new Registry({ database: planetscale(ps.url()), platform: 'node', warn: false })
    const { second, transaction } = await forceDuringTransaction(registry, (tx) =>
      tx.query(`insert into ${table} (tag) values (?)`, [tag]),
    )
    const [rows] = await my.query(`select count(*) as n from ${table} where tag = ?`, [tag])
    expect(Number((rows as { n: number | string }[])[0]!.n), 'rows committed').toBe(0)
    expect(second).toBe('rejected CLOSED')
    expect(describeOutcome(transaction.outcome)).toBe('rejected CLOSED')
    expect(await poll(async () => ps.pinnedSessions() === 0, 2000)).toBe(true)
  })
})
