// libSQL over WebSocket (Hrana over ws://): @libsql/client, unmodified, against the in-process
// Hrana gateway's WebSocket side (a real SQLite file behind it): what a held socket brings (one
// per client, drops, idle close). The shared conformance suite runs over ws:// in libsql.test.ts.
// On Node the client takes its WebSocket from `ws` (via @libsql/isomorphic-ws): no global needed.
import { afterAll, describe, expect, it } from 'vitest'
import { createClient, type Config } from '@libsql/client'
import { createClient as createWsClient } from '@libsql/client/ws'
import { Registry, type CloseEvent, type LazyDbError, type Transaction } from '@lazydb/core'
import { libsql, type LibsqlOptions } from '@lazydb/core/libsql'
import { startHranaGateway, type HranaGateway } from '../support/hrana-gateway.js'
import { tempDir } from '../support/tmp.js'

const TOKEN = 'tok-ws-secret-789'
const dirs = tempDir('lazydb-libsql-ws-')
const gateways: HranaGateway[] = []
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()))
  dirs.remove()
})

async function gateway(name: string): Promise<HranaGateway> {
  const g = await startHranaGateway({ file: dirs.file(`${name}.db`), authToken: TOKEN })
  gateways.push(g)
  return g
}

/** A registry on the gateway's ws:// URL; `closes` collects the close events' reasons. */
function overWs(g: HranaGateway, options: LibsqlOptions = {}) {
  const closes: CloseEvent['reason'][] = []
  const db = new Registry({
    database: libsql(g.ws.url, { authToken: TOKEN, ...options }),
    warn: false,
    on: { close: (e) => closes.push(e.reason) },
  })
  return { registry: db, closes, stats: () => db.stats().databases.default! }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The gateway cuts every socket; resolves once the client has read the close. */
async function dropAndWait(g: HranaGateway): Promise<void> {
  g.ws.dropAll()
  await expect.poll(() => g.ws.openConnections()).toBe(0)
  await sleep(20)
}

describe('libsql over WebSocket', () => {
  it(
    '100 concurrent first queries make one client and one WebSocket; ' + '2 round trips to the first row, then 1',
    async () => {
      const g = await gateway('single-flight')
      let created = 0
      const counting = (config: Config) => (created++, createClient(config))
      const { registry, stats } = overWs(g, { createClient: counting })
      try {
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) => registry.database.query<{ i: number }>('select ? as i', [i])),
        )
        expect(results.map((r) => r.rows[0]!.i)).toEqual(Array.from({ length: 100 }, (_, i) => i))
        expect(created).toBe(1)
        expect(stats()).toMatchObject({ connects: 1, queries: 100, errors: 0 })
        expect([g.ws.connectionsOpened, g.ws.openConnections()]).toEqual([1, 1])
        expect(g.roundTrips).toBe(0) // nothing went over HTTP

        const fresh = overWs(g)
        g.ws.resetCounters()
        await fresh.registry.database.query('select 1')
        expect(g.ws.roundTrips).toBe(2) // the upgrade, then hello + open_stream + execute + close_stream pipelined
        await fresh.registry.database.query('select 2')
        expect(g.ws.roundTrips).toBe(3)
        await fresh.registry.disconnect()
      } finally {
        await registry.disconnect()
      }
      await expect.poll(() => g.ws.openConnections()).toBe(0)
      expect(g.ws.openStreams()).toBe(0)
    },
  )

  it(
    'a socket the far side dropped while idle is replaced by the client itself; ' + 'disconnect leaves none open',
    async () => {
      const g = await gateway('dropped')
      const { registry, stats, closes } = overWs(g)
      expect((await registry.database.query('select 1 as x')).rows).toEqual([{ x: 1 }])
      await dropAndWait(g)
      expect((await registry.database.query('select 2 as x')).rows).toEqual([{ x: 2 }])
      // @libsql/client reopens a closed socket on its next statement: lazydb keeps the same client.
      expect(stats()).toMatchObject({ connects: 1, closes: 0, retries: 0, errors: 0 })
      expect([g.ws.connectionsOpened, g.ws.openConnections()]).toEqual([2, 1])
      await registry.disconnect()
      expect(closes).toEqual(['disconnect'])
      await expect.poll(() => g.ws.openConnections()).toBe(0)
    },
  )

  it(
    'a drop whose close is still unread when the next statement comes ' + '(as after a freeze) costs no error',
    async () => {
      const g = await gateway('unread-close')
      const { registry, stats } = overWs(g)
      try {
        await registry.database.query('select 1')
        await sleep(60) // idle, as between two invocations
        g.ws.dropAll() // the FIN waits in the kernel: the query below is issued before the client reads it
        expect((await registry.database.query('select 2 as x')).rows).toEqual([{ x: 2 }])
        expect(stats()).toMatchObject({ errors: 0, retries: 0 })
        expect(g.ws.connectionsOpened).toBe(2)
      } finally {
        await registry.disconnect()
      }
    },
  )

  it(
    'a socket that dies under a statement is CONNECTION_LOST (may have run) ' + 'and the next query reconnects',
    async () => {
      const g = await gateway('lost')
      const { registry, stats, closes } = overWs(g)
      try {
        await registry.database.query('select 1')
        g.ws.dropAll() // no pause: the statement goes out on the dead socket
        const error = (await registry.database.query('select 2').catch((e: unknown) => e)) as LazyDbError
        expect(error).toMatchObject({ code: 'CONNECTION_LOST', mayHaveRun: true })
        expect(error.message).toMatch(/WebSocket was closed/)
        expect(closes).toEqual(['lost'])
        expect((await registry.database.query('select 3 as x')).rows).toEqual([{ x: 3 }])
        expect(stats()).toMatchObject({ connects: 2, closes: 1, errors: 1 })
      } finally {
        await registry.disconnect()
      }
    },
  )

  it(
    'a drop under an open transaction: the next statement is refused unsent, ' +
      'the writes are gone, the next query works',
    async () => {
      const g = await gateway('tx-drop')
      const { registry } = overWs(g)
      try {
        await registry.database.query('create table t (x)')
        const statements = async (tx: Transaction) => {
          await tx.query('insert into t values (1)')
          await dropAndWait(g)
          await tx.query('insert into t values (2)')
        }
        const failed = await registry.database.transaction(statements).catch((e: unknown) => e)
        // The client refuses it locally (a ClosedError): the transaction's connection is gone, so the
        // transaction is lost (CONNECTION_LOST); this statement itself never ran.
        expect(failed).toMatchObject({ code: 'CONNECTION_LOST', mayHaveRun: false })
        expect((failed as Error).message).toMatch(/is closed/)
        expect((await registry.database.query('select count(*) as n from t')).rows).toEqual([{ n: 0 }])
      } finally {
        await registry.disconnect()
      }
    },
  )

  it('a refused WebSocket is CONNECT_FAILED after retries, not a query that may have run', async () => {
    const g = await gateway('refused')
    const url = g.ws.url
    await g.close()
    const registry = new Registry({
      database: libsql(url),
      warn: false,
      retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 10 },
    })
    const error = (await registry.database.query('select 1').catch((e: unknown) => e)) as LazyDbError
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', mayHaveRun: false })
    expect(error.message).toMatch(/ECONNREFUSED/)
    expect(registry.stats().databases.default).toMatchObject({ retries: 2, connects: 3 })
    await registry.disconnect()
  })

  it('closes the socket after idleTimeoutMs and reconnects on the next query', async () => {
    const g = await gateway('idle')
    const { registry, stats, closes } = overWs(g, { idleTimeoutMs: 100 })
    try {
      await registry.database.query('select 1')
      expect(g.ws.openConnections()).toBe(1)
      await expect.poll(() => g.ws.openConnections(), { timeout: 2000 }).toBe(0)
      expect(closes).toEqual(['idle'])
      expect(registry.database.isConnected).toBe(false)
      expect((await registry.database.query('select 2 as x')).rows).toEqual([{ x: 2 }])
      expect(stats()).toMatchObject({ connects: 2, closes: 1, errors: 0 })
      expect([g.ws.connectionsOpened, g.ws.openConnections()]).toEqual([2, 1])
    } finally {
      await registry.disconnect()
    }
  })

  it('libsql:// with ?tls=0 is HTTP for @libsql/client and WebSocket only for @libsql/client/ws', async () => {
    const g = await gateway('scheme')
    const url = `libsql://${new URL(g.url).host}?tls=0`
    const viaDefault = new Registry({ database: libsql(url, { authToken: TOKEN }), warn: false })
    await viaDefault.database.query('select 1')
    expect([g.roundTrips, g.ws.connectionsOpened]).toEqual([1, 0])
    await viaDefault.disconnect()
    const viaWs = new Registry({
      database: libsql(url, { authToken: TOKEN, createClient: createWsClient }),
      warn: false,
    })
    await viaWs.database.query('select 1')
    expect([g.roundTrips, g.ws.connectionsOpened]).toEqual([1, 1])
    await viaWs.disconnect()
  })

  it('a wrong token is refused at hello, and never shows in the error', async () => {
    const g = await gateway('auth')
    const registry = new Registry({ database: libsql(g.ws.url, { authToken: 'wrong-token-456' }), warn: false })
    const error = (await registry.database.query('select 1').catch((e: unknown) => e)) as LazyDbError
    expect(error.message).toMatch(/Unauthorized/)
    expect(JSON.stringify(error) + String(error) + String(error.stack) + String(error.cause)).not.toContain(
      'wrong-token-456',
    )
    await registry.disconnect()
    await expect.poll(() => g.ws.openConnections()).toBe(0)
  })
})
