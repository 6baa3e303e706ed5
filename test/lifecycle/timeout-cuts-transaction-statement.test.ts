// handler's timeoutMs holds while a transaction's statement is still running: the invocation rejects
// with TIMEOUT about timeoutMs after it started — not when the statement ends (a 2 s sleep) or when
// a row lock held elsewhere is released — and the transaction is dropped at once (its session closed,
// not a ROLLBACK queued behind the statement). PostgreSQL notices a closed client only once the
// statement ends, so the checks are that its backend then goes away, never left `idle in
// transaction`, and that nothing of the transaction is committed.
// neon-ws (warm and request scope), PlanetScale (warm and request scope), and neon-http's
// transaction session.
import type pg from 'pg'
import ws from 'ws'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError, Registry } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { planetscale } from '@lazydb/core/planetscale'
import { requireMariadb, setupMariadb } from '../support/mariadb.js'
import { type NeonHttpGateway, startNeonHttpGateway } from '../support/neon-http-gateway.js'
import { type PlanetscaleGateway, startPlanetscaleGateway } from '../support/planetscale-gateway.js'
import { poll } from '../support/poll.js'
import { pgUrlFor, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { poolSuite } from './pool-suite.js'
import { adminClient, backendsOf, idleInTransaction, neonWs, settledWithin, uniqueApp } from './pool-support.js'

const pgUp = await requirePostgres()
const mariadbUp = await requireMariadb()

const TIMEOUT_MS = 300
/** How long after timeoutMs the TIMEOUT may come: the forced rollback's 100 ms plus scheduling on a busy machine. */
const SLACK_MS = 700

/** Runs `invoke`, returning how it settled (within 5 s) and after how many ms. */
async function timed(invoke: () => Promise<unknown>): Promise<{ code: string; ms: number }> {
  const started = Date.now()
  const outcome = await settledWithin(invoke(), 5000)
  const ms = Date.now() - started
  if (outcome.state === 'pending') return { code: 'pending after 5 s', ms }
  if (outcome.state === 'resolved') return { code: 'resolved', ms }
  const error = outcome.error
  return { code: error instanceof LazyDbError ? error.code : `not a LazyDbError: ${String(error)}`, ms }
}

describe.skipIf(!pgUp)('timeoutMs while a transaction statement runs (Postgres)', () => {
  const suite = poolSuite()
  const { admin, openDatabase } = suite
  let http: NeonHttpGateway
  let locker: pg.Client
  const table = `lazydb_rv_timeout_lock_${process.pid}`

  beforeAll(async () => {
    http = await startNeonHttpGateway()
    locker = await adminClient()
    await admin.query(`create table ${table} (id int primary key, v int not null)`)
    await admin.query(`insert into ${table} values (1, 0)`)
  })
  // Runs before the suite's afterEach closes this test's registries (vitest runs after hooks last-first).
  afterEach(async () => {
    await locker.query('rollback').catch(() => undefined)
  })
  afterAll(async () => {
    await admin.query(`drop table if exists ${table}`)
    await locker?.end()
    await http?.close()
  })

  const neonHttpWithSession = (app: string) =>
    neon(pgUrlFor('ep-lazydb-test.neon.tech', { password: 'not-checked', applicationName: app }), {
      fetchEndpoint: http.endpoint,
      wsProxy: suite.gateway.wsProxy,
      useSecureWebSocket: false,
      pipelineConnect: false,
      webSocketConstructor: ws,
    })

  const sleepers = [
    { label: 'neon-ws warm', make: (app: string) => neonWs(suite.gateway, app, { scope: 'warm' }) },
    { label: 'neon-ws request', make: (app: string) => neonWs(suite.gateway, app, { scope: 'request' }) },
  ]

  it.each(sleepers)('$label: pg_sleep(2) in a transaction → TIMEOUT near timeoutMs, no backend left', async (c) => {
    const app = uniqueApp('timeout-sleep')
    const registry = openDatabase(c.make(app), app)
    const invoke = handler(registry, () => registry.database.transaction((tx) => tx.query('select pg_sleep(2)')), {
      timeoutMs: TIMEOUT_MS,
    })
    const { code, ms } = await timed(invoke)
    expect(code).toBe('TIMEOUT')
    expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS)
    // Once the sleep is over, the backend finds its client gone and exits: none kept, none idle in transaction.
    expect(await waitForConnectionCount(0, app, 3000)).toBe(0)
  })

  const lockers = [...sleepers, { label: 'neon-http (its WebSocket transaction session)', make: neonHttpWithSession }]

  it.each(lockers)('$label: an update waiting on a row lock → TIMEOUT near timeoutMs, nothing kept', async (c) => {
    const app = uniqueApp('timeout-lock')
    await locker.query('begin')
    await locker.query(`select * from ${table} where id = 1 for update`)
    const registry = openDatabase(c.make(app), app)
    const invoke = handler(
      registry,
      () => registry.database.transaction((tx) => tx.query(`update ${table} set v = v + 1 where id = 1`)),
      { timeoutMs: TIMEOUT_MS },
    )
    const { code, ms } = await timed(invoke)
    expect(code).toBe('TIMEOUT')
    expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS)
    // Nothing of lazydb's waits for the lock any more; the backend itself still waits for it, then
    // finds its client gone and exits without committing.
    expect(await idleInTransaction(admin, app)).toEqual([])
    await locker.query('rollback')
    expect(await waitForConnectionCount(0, app, 1500)).toBe(0)
    expect(await backendsOf(admin, app)).toEqual([])
    const { rows } = await admin.query<{ v: number }>(`select v from ${table} where id = 1`)
    expect(rows).toEqual([{ v: 0 }])
  })
})

describe.skipIf(!mariadbUp)('timeoutMs while a transaction statement runs (PlanetScale)', () => {
  let gateway: PlanetscaleGateway
  const registries: Registry[] = []

  beforeAll(async () => {
    await setupMariadb()
    gateway = await startPlanetscaleGateway()
  })
  afterAll(async () => {
    await Promise.all(registries.map((r) => settledWithin(r.disconnect({ force: true }), 2000)))
    await gateway?.close()
  })

  const cases = [
    { label: 'warm', database: () => planetscale(gateway.url()) },
    { label: 'request', database: () => planetscale(gateway.url(), { scope: 'request' }) },
  ]

  it.each(cases)('$label: sleep(2) in a transaction → TIMEOUT near timeoutMs; the session is let go', async (c) => {
    const registry = new Registry({ database: c.database(), platform: 'node', warn: false })
    registries.push(registry)
    const invoke = handler(registry, () => registry.database.transaction((tx) => tx.query('select sleep(2)')), {
      timeoutMs: TIMEOUT_MS,
    })
    const { code, ms } = await timed(invoke)
    expect(code).toBe('TIMEOUT')
    expect(ms).toBeLessThan(TIMEOUT_MS + SLACK_MS)
    // The statement cannot be cancelled over HTTP; the ROLLBACK sent behind it ends the pinned session.
    expect(await poll(async () => gateway.pinnedSessions() === 0, 5000)).toBe(true)
  })
})
