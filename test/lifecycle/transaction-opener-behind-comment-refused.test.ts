// A statement that opens a transaction through query() is refused however it starts: behind a block
// comment, a line comment, a semicolon or a byte-order mark. libSQL, Neon over HTTP and PlanetScale
// refuse it unsent (TRANSACTION_UNSUPPORTED, mayHaveRun false; nothing reaches the gateway) and the
// writes after it are committed on their own, visible to an independent connection. On neon-ws a text
// that commits a write and then opens a transaction is rolled back after it ran: TRANSACTION_UNSUPPORTED
// with mayHaveRun true, because the write before the BEGIN was committed.
import type pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, LazyDbError, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { neon } from '@lazydb/core/neon'
import { planetscale } from '@lazydb/core/planetscale'
import { createClient } from '@libsql/client'
import type { Connection } from 'mysql2/promise'
import { mysqlDirect, requireMariadb } from '../support/mariadb.js'
import { type NeonHttpGateway, startNeonHttpGateway } from '../support/neon-http-gateway.js'
import { type NeonWsGateway, startNeonWsGateway } from '../support/neon-ws-gateway.js'
import { type PlanetscaleGateway, startPlanetscaleGateway } from '../support/planetscale-gateway.js'
import { pgUrlFor, requirePostgres } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'
import { adminClient, idleInTransaction, neonWs, settledWithin, uniqueApp } from './pool-support.js'

const pgUp = await requirePostgres()
const mariadbUp = await requireMariadb()

const HIDDEN_BEGINS = ['/* x */ BEGIN', '-- c\nBEGIN', ';BEGIN', '\uFEFFBEGIN', '/* x */ START TRANSACTION']

/** 'CODE mayHaveRun=…' for a LazyDbError within 5 s, else what happened instead. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  const outcome = await settledWithin(promise, 5000)
  if (outcome.state !== 'rejected') return outcome.state
  const e = outcome.error
  return e instanceof LazyDbError ? `${e.code} mayHaveRun=${e.mayHaveRun}` : `not a LazyDbError: ${String(e)}`
}

/** Each hidden BEGIN is refused unsent; `sent()` counts what reached the server's gateway (if any). */
async function refusesEach(db: Database, sent?: () => number): Promise<void> {
  const before = sent?.()
  const seen: Record<string, string> = {}
  for (const text of HIDDEN_BEGINS) seen[text] = await refusal(db.query(text))
  expect(seen).toEqual(Object.fromEntries(HIDDEN_BEGINS.map((t) => [t, 'TRANSACTION_UNSUPPORTED mayHaveRun=false'])))
  if (sent !== undefined) expect(sent()).toBe(before)
}

const files = tempDir('lazydb-hidden-begin-')
const registries: Registry[] = []
afterAll(async () => {
  await Promise.all(registries.map((r) => settledWithin(r.disconnect({ force: true }), 2000)))
  files.remove()
})
const open = (database: Database) => {
  const registry = new Registry({ database, platform: 'node', warn: false })
  registries.push(registry)
  return registry.database
}

describe('libSQL file: a hidden BEGIN through query() is refused unsent', () => {
  it('refused, and the write after it is committed for an independent connection', async () => {
    const url = `file:${files.file('hidden.db')}`
    const db = open(libsql(url))
    await db.query('create table t (v text)')
    await refusesEach(db)
    await db.query("insert into t values ('kept')")
    const other = createClient({ url })
    try {
      const outcome = await settledWithin(other.execute('select v from t'), 2000)
      expect(outcome.state).toBe('resolved')
      expect(outcome.state === 'resolved' && outcome.value.rows.map((r) => r.v)).toEqual(['kept'])
    } finally {
      other.close()
    }
  })
})

describe.skipIf(!pgUp)('Neon over HTTP: a hidden BEGIN through query() is refused unsent', () => {
  let http: NeonHttpGateway
  let admin: pg.Client
  const table = `lazydb_rv_hidden_begin_${process.pid}`
  beforeAll(async () => {
    http = await startNeonHttpGateway({ record: true })
    admin = await adminClient()
    await admin.query(`create table ${table} (tag text not null)`)
  })
  afterAll(async () => {
    await admin?.query(`drop table if exists ${table}`)
    await admin?.end()
    await http?.close()
  })

  it('refused with no request sent; later inserts are visible at once', async () => {
    const app = uniqueApp('hidden-begin-http')
    const db = open(
      neon(pgUrlFor('ep-hidden-begin.neon.tech', { password: 'not-checked', applicationName: app }), {
        fetchEndpoint: http.endpoint,
      }),
    )
    await refusesEach(db, () => http.requests.length)
    for (let i = 0; i < 3; i++) await db.query(`insert into ${table} (tag) values ($1)`, [app])
    const { rows } = await admin.query<{ n: number }>(`select count(*)::int as n from ${table} where tag = $1`, [app])
    expect(rows).toEqual([{ n: 3 }])
  })
})

describe.skipIf(!mariadbUp)('PlanetScale: a hidden BEGIN through query() is refused unsent', () => {
  let ps: PlanetscaleGateway
  let my: Connection
  const table = `lazydb_rv_hidden_begin_${process.pid}`
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

  it('refused with no request sent and no session pinned; later inserts are visible at once', async () => {
    const tag = uniqueApp('hidden-begin-ps')
    const db = open(planetscale(ps.url()))
    ps.resetCounters()
    await refusesEach(db, () => ps.roundTrips)
    expect(ps.pinnedSessions()).toBe(0)
    for (let i = 0; i < 3; i++) await db.query(`insert into ${table} (tag) values (?)`, [tag])
    const [rows] = await my.query(`select count(*) as n from ${table} where tag = ?`, [tag])
    expect(Number((rows as { n: number | string }[])[0]!.n)).toBe(3)
    expect(ps.pinnedSessions()).toBe(0)
  })
})

describe.skipIf(!pgUp)('neon-ws: a text that commits a write, then opens a transaction', () => {
  let gateway: NeonWsGateway
  let admin: pg.Client
  const table = `lazydb_rv_commit_then_begin_${process.pid}`
  beforeAll(async () => {
    gateway = await startNeonWsGateway()
    admin = await adminClient()
    await admin.query(`create table ${table} (tag text not null)`)
  })
  afterAll(async () => {
    await admin?.query(`drop table if exists ${table}`)
    await admin?.end()
    await gateway?.close()
  })

  it('"insert …; commit; begin" → TRANSACTION_UNSUPPORTED with mayHaveRun true; the insert is kept', async () => {
    const app = uniqueApp('commit-begin')
    const registry = new Registry({ database: neonWs(gateway, app, { max: 1 }), platform: 'node', warn: false })
    try {
      const text = `insert into ${table} (tag) values ('${app}'); commit; begin`
      expect(await refusal(registry.database.query(text))).toBe('TRANSACTION_UNSUPPORTED mayHaveRun=true')
      const { rows } = await admin.query<{ n: number }>(`select count(*)::int as n from ${table} where tag = $1`, [app])
      expect(rows).toEqual([{ n: 1 }])
      expect(await idleInTransaction(admin, app)).toEqual([])
      // The pooled connection was rolled back, not poisoned: the next statement runs outside any transaction.
      // (now() is the transaction's start: it equals the statement's own start only in a fresh transaction.)
      const next = await registry.database.query('select now() = statement_timestamp() as fresh')
      expect(next.rows).toEqual([{ fresh: true }])
    } finally {
      await settledWithin(registry.disconnect({ force: true }), 2000)
    }
  })
})
