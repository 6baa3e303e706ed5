// Where lazydb does not keep one connection for the caller between statements (libSQL's pooled
// connections, Neon over HTTP, PlanetScale's session per statement), a statement that opens a
// transaction would be rolled back unseen or left open, and the statements after it would not be in
// it. It is refused unsent with TRANSACTION_UNSUPPORTED (mayHaveRun false), and nothing reaches the
// server: the database is unchanged and other statements still run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, LazyDbError, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { neon } from '@lazydb/core/neon'
import { planetscale } from '@lazydb/core/planetscale'
import { ensureMariadbUser, MARIADB_CREDENTIALS, requireMariadb, setupMariadb } from '../support/mariadb.js'
import { type NeonHttpGateway, startNeonHttpGateway } from '../support/neon-http-gateway.js'
import { type PlanetscaleGateway, startPlanetscaleGateway } from '../support/planetscale-gateway.js'
import { pgUrlFor, requirePostgres } from '../support/postgres.js'
import { tempDir } from '../support/tmp.js'

const pgUp = await requirePostgres()
const mariadbUp = await requireMariadb()
const STATEMENTS = ['begin', '  BEGIN IMMEDIATE', '\nbegin transaction', 'START TRANSACTION', 'savepoint a']

async function refusesEach(db: Database): Promise<void> {
  for (const text of STATEMENTS) {
    const error = await db.query(text).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error, text).toBeInstanceOf(LazyDbError)
    expect(error, text).toMatchObject({ code: 'TRANSACTION_UNSUPPORTED', mayHaveRun: false })
    expect((error as Error).message, text).toMatch(/db\.transaction\(async \(tx\) => …\)/)
  }
  // Statements that merely start with the same letters still run.
  expect((await db.query('select 1 as started')).rows).toEqual([{ started: 1 }])
}

describe('a statement that opens a transaction outside transaction() is refused unsent', () => {
  const files = tempDir('lazydb-manual-begin-')
  const registries: Registry[] = []
  let http: NeonHttpGateway | undefined
  let ps: PlanetscaleGateway | undefined

  beforeAll(async () => {
    if (pgUp) http = await startNeonHttpGateway({ record: true })
    if (mariadbUp) {
      await setupMariadb()
      await ensureMariadbUser('lazydb_manual_begin', 'manual-begin-pw-3317')
      ps = await startPlanetscaleGateway({
        mysql: {
          host: '127.0.0.1',
          port: 3306,
          user: 'lazydb_manual_begin',
          password: 'manual-begin-pw-3317',
          database: MARIADB_CREDENTIALS.database,
        },
      })
    }
  })
  afterAll(async () => {
    await Promise.all(registries.map((r) => r.disconnect({ force: true })))
    await http?.close()
    await ps?.close()
    files.remove()
  })

  const open = (database: Database) => {
    const registry = new Registry({ database, platform: 'node', warn: false })
    registries.push(registry)
    return registry.database
  }

  it('libSQL file: refused, and a write after it is committed on its own', async () => {
    const db = open(libsql(`file:${files.file('begin.db')}`))
    await db.query('create table t (v text)')
    await refusesEach(db)
    await db.query("insert into t values ('kept')")
    expect((await db.query('select v from t')).rows).toEqual([{ v: 'kept' }])
  })

  it.skipIf(!pgUp)('Neon over HTTP: refused, and no request reaches the gateway', async () => {
    const db = open(
      neon(pgUrlFor('ep-manual-begin.neon.tech', { password: 'not-checked' }), { fetchEndpoint: http!.endpoint }),
    )
    const before = http!.requests.length
    for (const text of STATEMENTS)
      await expect(db.query(text)).rejects.toMatchObject({ code: 'TRANSACTION_UNSUPPORTED' })
    expect(http!.requests.length).toBe(before)
    await refusesEach(db)
  })

  it.skipIf(!mariadbUp)('PlanetScale: refused, and no request reaches the gateway', async () => {
    const db = open(planetscale(ps!.url('lazydb_manual_begin', 'manual-begin-pw-3317')))
    ps!.resetCounters()
    await refusesEach(db)
    expect(ps!.roundTrips).toBe(1) // only the select
    expect(ps!.pinnedSessions()).toBe(0)
  })
})
