// lifespan() in-process, with a node:http server over real HTTP and the real PostgreSQL (a neon-ws pool through
// the local WebSocket gateway, the one socket driver on this branch) plus an embedded libSQL file: it connects
// every database at start (CONNECT_FAILED names the alias that failed), and close() stops the server
// accepting, lets the requests in flight finish, then disconnects: no server backend is left, none idle in a
// transaction. Past drainMs (or with { force: true }) what is still open is rolled back and closed. Signals
// and the process exit are tested on a child process (node-lifespan-signals.test.ts).
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { handler, LazyDbError, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { lifespan } from '@lazydb/core/node'
import { startNeonWsGateway, type NeonWsGateway } from '../support/neon-ws-gateway.js'
import { requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'
import {
  adminClient,
  backendsOf,
  idleInTransaction,
  neonWs,
  terminateLeftovers,
  uniqueApp,
} from '../lifecycle/pool-support.js'
import { settledWithin, within } from '../lifecycle/support.js'

const pgUp = await requirePostgres()
const TABLE = `lazydb_lifespan_${process.pid}`
const dirs = tempDir('lazydb-lifespan-')

/** A request's outcome as the client saw it: its status and body, or the socket error. */
async function request(origin: string, path: string): Promise<string> {
  try {
    const res = await fetch(`${origin}${path}`, { headers: { connection: 'close' } })
    return `${res.status} ${await res.text()}`
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause
    return `failed ${cause?.code ?? (error as Error).message}`
  }
}

describe.skipIf(!pgUp)('lifespan(registry, { server, drainMs })', () => {
  let gateway: NeonWsGateway
  let admin: pg.Client
  const apps: string[] = []

  beforeAll(async () => {
    gateway = await startNeonWsGateway()
    admin = await adminClient()
    await admin.query(`create table if not exists ${TABLE} (label text not null)`)
  })
  afterAll(async () => {
    for (const app of apps) await terminateLeftovers(admin, app)
    await admin?.query(`drop table if exists ${TABLE}`)
    await admin?.end()
    await gateway?.close()
    dirs.remove()
  })

  /** A registry on the real PostgreSQL (tagged `app`) and a libSQL extra, served over HTTP: /write/:label. */
  async function serve(label: string, hold: Promise<void>) {
    const app = uniqueApp(`lifespan-${label}`)
    apps.push(app)
    const registry = new Registry({
      database: neonWs(gateway, app, { max: 10 }),
      extra: { local: libsql(`file:${dirs.file(`${app}.db`)}`) },
      warn: false,
    })
    let inFlight = 0
    const entered: (() => void)[] = []
    const transactions: Promise<unknown>[] = []
    const route = handler(registry, async (req: IncomingMessage, res: ServerResponse) => {
      const name = req.url!.split('/').pop()!
      try {
        const transaction = registry.database.transaction(async (tx) => {
          await tx.query(`insert into ${TABLE} (label) values ($1)`, [name])
          inFlight++
          for (const wake of entered.splice(0)) wake()
          await hold // the test decides when the request may finish
          await tx.query(`insert into ${TABLE} (label) values ($1)`, [`${name}-2`])
        })
        transactions.push(transaction)
        await transaction
        res.writeHead(200).end('committed')
      } catch (error) {
        res.writeHead(503).end((error as LazyDbError).code ?? 'error')
      }
    })
    const server = createServer((req, res) => void route(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const whenInFlight = async (n: number) => {
      while (inFlight < n) await new Promise<void>((resolve) => entered.push(resolve))
    }
    return { app, registry, server: server as Server, origin, whenInFlight, transactions }
  }

  const rows = async (prefix: string) =>
    Number((await admin.query(`select count(*) from ${TABLE} where label like $1`, [`${prefix}%`])).rows[0].count)

  it('connects every database at start, once however often it is called; CONNECT_FAILED names the alias', async () => {
    const { app, registry, server } = await serve('ready', Promise.resolve())
    const first = lifespan(registry, { server, signals: [] })
    expect(lifespan(registry, { server, signals: [] })).toBe(first)
    await within(first.ready, 5000, 'ready')
    const { databases } = registry.stats()
    expect(databases.default).toMatchObject({ connects: 1, queries: 0 })
    expect(databases.local).toMatchObject({ connects: 1 })
    expect(await waitForConnectionCount(1, app)).toBe(1) // the real server holds the pool's first connection
    expect(await within(first.close(), 5000, 'close')).toEqual({ drained: true })
    expect(await waitForConnectionCount(0, app)).toBe(0)
    expect(registry.database.isConnected).toBe(false)

    // The extra database's WebSocket proxy is a closed port: its connect fails (once: no retries here).
    const closedPort = { wsProxy: '127.0.0.1:1/v1' } as NeonWsGateway
    const broken = new Registry({
      database: libsql(`file:${dirs.file('fine.db')}`),
      extra: { missing: neonWs(closedPort, uniqueApp('missing')) },
      retry: { attempts: 1 },
      warn: false,
    })
    const failed = lifespan(broken, { signals: [] })
    const outcome = await settledWithin(failed.ready, 5000)
    expect(outcome.status).toBe('rejected')
    const error = (outcome as { reason: unknown }).reason
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', database: 'missing' })
    expect((error as Error).message).toContain('"missing"')
    expect(broken.database.isConnected).toBe(false) // the one that connected was disconnected again
    expect(await within(failed.close(), 5000, 'close')).toEqual({ drained: true })
  })

  it('close(): stops accepting, lets the requests in flight commit, then disconnects', async () => {
    let release!: () => void
    const hold = new Promise<void>((resolve) => (release = resolve))
    const { app, registry, server, origin, whenInFlight } = await serve('drain', hold)
    const handle = lifespan(registry, { server, signals: [], drainMs: 10_000 })
    await within(handle.ready, 5000, 'ready')
    const label = `drain-${process.pid}-`
    const requests = Array.from({ length: 5 }, (_, i) => request(origin, `/write/${label}${i}`))
    await within(whenInFlight(5), 5000, 'five requests in flight')
    const closing = handle.close()
    expect(handle.close()).toBe(closing)
    // No longer accepting: a new connection is refused while the five are still running.
    expect(await request(origin, `/write/${label}late`)).toBe('failed ECONNREFUSED')
    expect((await settledWithin(closing, 200)).status).toBe('pending') // waiting for the five
    release()
    expect(await within(Promise.all(requests), 5000, 'the requests')).toEqual(Array(5).fill('200 committed'))
    expect(await within(closing, 5000, 'close')).toEqual({ drained: true })
    expect(await rows(label)).toBe(10)
    expect(await waitForConnectionCount(0, app)).toBe(0)
    expect(registry.stats().databases.default!.errors).toBe(0)
  })

  it('without a server: close() waits for the invocations in flight (the app closes its own server)', async () => {
    let release!: () => void
    const hold = new Promise<void>((resolve) => (release = resolve))
    const { app, registry, server, origin, whenInFlight } = await serve('no-server', hold)
    const handle = lifespan(registry, { signals: [] })
    await within(handle.ready, 5000, 'ready')
    const label = `no-server-${process.pid}-`
    const requests = Array.from({ length: 3 }, (_, i) => request(origin, `/write/${label}${i}`))
    await within(whenInFlight(3), 5000, 'three requests in flight')
    const closing = handle.close()
    expect((await settledWithin(closing, 200)).status).toBe('pending')
    release()
    expect(await within(Promise.all(requests), 5000, 'the requests')).toEqual(Array(3).fill('200 committed'))
    expect(await within(closing, 5000, 'close')).toEqual({ drained: true })
    expect(await rows(label)).toBe(6)
    expect(await waitForConnectionCount(0, app)).toBe(0)
    server.close()
  })

  for (const how of ['drainMs passes', 'close({ force: true })'] as const) {
    it(`${how}: what is still open is rolled back, no backend is left, the requests get a clean error`, async () => {
      const { app, registry, server, origin, whenInFlight, transactions } = await serve('force', new Promise(() => {}))
      const drainMs = how === 'drainMs passes' ? 300 : 60_000
      const handle = lifespan(registry, { server, signals: [], drainMs })
      await within(handle.ready, 5000, 'ready')
      const label = `forced-${process.pid}-${how.length}-`
      const requests = Array.from({ length: 3 }, (_, i) => request(origin, `/write/${label}${i}`))
      await within(whenInFlight(3), 5000, 'three requests in flight')
      expect(await idleInTransaction(admin, app)).toHaveLength(3)
      const closing = handle.close()
      if (how !== 'drainMs passes') expect(handle.close({ force: true })).toBe(closing)
      expect(await within(closing, 5000, 'close')).toEqual({ drained: false })
      // The routes are stuck in their transactions: the client sees its connection closed, never a hang.
      const seen = await within(Promise.all(requests), 5000, 'the requests')
      for (const outcome of seen) expect(outcome).toMatch(/^failed /)
      expect(await idleInTransaction(admin, app)).toEqual([])
      expect(await waitForConnectionCount(0, app)).toBe(0)
      expect(await backendsOf(admin, app)).toEqual([])
      expect(await rows(label)).toBe(0)
      for (const transaction of transactions)
        expect((await settledWithin(transaction, 100)).status).not.toBe('fulfilled')
    })
  }
})
