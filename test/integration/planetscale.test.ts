// lazydb's planetscale driver, through the PlanetScale gateway, against the real MariaDB. Every read
// is also sent straight to MariaDB through mysql2 (the exact SQL the driver produces, via its own
// `format`), so a gateway bug can't hide a driver bug.
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, DatabaseError, cast as defaultCast, format, type Cast } from '@planetscale/database'
import type { Connection as MysqlConnection } from 'mysql2/promise'
import { LazyDbError, Registry, type Database, type Params } from '@lazydb/core'
import { planetscale, planetscaleDriver } from '@lazydb/core/planetscale'
import { conformance, type Dialect } from '../support/conformance.js'
import {
  MARIADB_CREDENTIALS,
  MARIADB_OTHER_DATABASE,
  mariadbConnectionCount,
  mysqlDirect,
  requireMariadb,
  setupMariadb,
  ensureMariadbUser,
} from '../support/mariadb.js'
import { startPlanetscaleGateway, type PlanetscaleGateway } from '../support/planetscale-gateway.js'
import { plainBytes, poll } from '../support/poll.js'

const hasMariadb = await requireMariadb()

const mysqlDialect: Dialect = {
  param: () => '?',
  createTable: (t) => `create table ${t} (id bigint auto_increment primary key, name varchar(100) unique)`,
  dropTable: (t) => `drop table if exists ${t}`,
  uniqueSqlState: '23000',
  lastInsertId: true,
}

// A MariaDB user of this file's own, so counting its server connections is not disturbed by other
// test files that use the shared `lazydb` user at the same time.
const USER = 'lazydb_ps_driver'
const PASSWORD = 'ps-driver-pw-4821'
const gatewayMysql = {
  host: '127.0.0.1',
  port: 3306,
  user: USER,
  password: PASSWORD,
  database: MARIADB_CREDENTIALS.database,
}

async function ensureUser(): Promise<void> {
  await setupMariadb()
  await ensureMariadbUser(USER, PASSWORD)
}

let baseline = 0
let started: Promise<PlanetscaleGateway> | undefined
/** One gateway for the whole file, started on first use; the last suite closes it. */
const gateway = () =>
  (started ??= (async () => {
    await ensureUser()
    baseline = await mariadbConnectionCount(USER)
    return startPlanetscaleGateway({ mysql: gatewayMysql })
  })())

const registries: Registry[] = []
async function open(database: ConstructorParameters<typeof Registry>[0]['database']): Promise<Registry> {
  const registry = new Registry({ database, warn: false })
  registries.push(registry)
  return registry
}

afterAll(async () => {
  await Promise.all(registries.map((r) => r.disconnect({ force: true })))
  if (started !== undefined && !gatewayClosed) await (await started).close()
})
let gatewayClosed = false

conformance(
  'planetscale',
  mysqlDialect,
  async () => {
    const registry = await open(planetscale((await gateway()).url()))
    // mysql2 straight to MariaDB, with the final SQL the driver itself produces (its own `format`).
    const direct = await mysqlDirect({ supportBigNumbers: true, bigNumberStrings: true, dateStrings: true })
    const reference = async (text: string, params?: unknown[]) => {
      const [rows] = await direct.query(params === undefined ? text : format(text, params))
      return (rows as Array<Record<string, unknown>>).map(plainBytes)
    }
    return { registry, reference, cleanup: () => direct.end() }
  },
  hasMariadb,
)

describe.skipIf(!hasMariadb)('planetscale driver', () => {
  const table = `ps_driver_items_${process.pid}`
  const otherTable = `ps_driver_other_${process.pid}`
  let gw: PlanetscaleGateway
  let direct: MysqlConnection
  let registry: Registry
  let db: Database

  /** Runs `text` through lazydb and the same final SQL through mysql2; expects the same rows. */
  async function same(text: string, params?: Params) {
    const got = await db.query(text, params)
    const [rows] = await direct.query(params === undefined ? text : format(text, params as unknown[]))
    expect(got.rows.map(plainBytes)).toEqual((rows as Array<Record<string, unknown>>).map(plainBytes))
    return got
  }
  const directRows = async (sql: string) =>
    ((await direct.query(sql))[0] as Array<Record<string, unknown>>).map(plainBytes)

  beforeAll(async () => {
    gw = await gateway()
    direct = await mysqlDirect({ supportBigNumbers: true, bigNumberStrings: true, dateStrings: true })
    await direct.query(`DROP TABLE IF EXISTS ${table}`)
    await direct.query(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL UNIQUE,
      n INT, big BIGINT, price DECIMAL(10,2), at DATETIME, doc JSON, bin VARBINARY(16), note TEXT NULL)`)
    await direct.query(`DROP TABLE IF EXISTS ${MARIADB_OTHER_DATABASE}.${otherTable}`)
    await direct.query(`CREATE TABLE ${MARIADB_OTHER_DATABASE}.${otherTable} (v VARCHAR(20))`)
    await direct.query(`INSERT INTO ${MARIADB_OTHER_DATABASE}.${otherTable} VALUES ('elsewhere')`)
    registry = await open(planetscale(gw.url()))
    db = registry.database
  })

  afterAll(async () => {
    if (direct === undefined) return
    await direct.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {})
    await direct.query(`DROP TABLE IF EXISTS ${MARIADB_OTHER_DATABASE}.${otherTable}`).catch(() => {})
    await direct.end()
  })

  describe('params', () => {
    it('fills ? placeholders', async () => {
      const { rows } = await same('select ? as s, ? as i, ? as q', ["it's", 7, 'a"b\\c'])
      expect(rows).toEqual([{ s: "it's", i: 7, q: 'a"b\\c' }])
    })

    it('fills :name placeholders', async () => {
      const { rows } = await same('select :name as name, :n as n, :name as again', { name: 'named', n: 3 })
      expect(rows).toEqual([{ name: 'named', n: 3, again: 'named' }])
    })

    it('binds sql`` values as ? parameters', async () => {
      const value = "o'k -- not sql"
      const got = await db.sql<{ v: string; n: number }>`select ${value} as v, ${5} as n`
      expect(got.rows).toEqual([{ v: value, n: 5 }])
      expect(got.rows).toEqual(await directRows(format('select ? as v, ? as n', [value, 5])))
      expect(got.columns).toEqual(['v', 'n'])
    })
  })

  describe('types, compared with mysql2', () => {
    let insertedId: string | undefined
    beforeAll(async () => {
      const result = await db.query(
        `insert into ${table} (name, n, big, price, at, doc, bin, note) values (?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          'typed',
          42,
          9007199254740993n,
          '12.34',
          new Date(Date.UTC(2024, 1, 29, 13, 14, 15)),
          JSON.stringify({ a: [1, 2], b: 'ü' }),
          new Uint8Array([0, 1, 255]),
          null,
        ],
      )
      expect(result.rowCount).toBe(1)
      insertedId = result.lastInsertId
    })
    const select = (columns: string) => same(`select ${columns} from ${table} where name = ?`, ['typed'])

    it('reports the insert id as a string, as stored', async () => {
      expect(insertedId).toMatch(/^[1-9][0-9]*$/)
      expect(await directRows(`select id from ${table} where name = 'typed'`)).toEqual([{ id: insertedId }])
    })

    it('int is a number, bigint above 2^53 a string', async () => {
      expect((await select('n, big')).rows).toEqual([{ n: 42, big: '9007199254740993' }])
      expect((await same('select 9007199254740993 as big, 42 as small')).rows).toEqual([
        { big: '9007199254740993', small: 42 },
      ])
    })

    it('decimal is a string', async () => {
      expect((await select('price')).rows).toEqual([{ price: '12.34' }])
      expect((await same('select 1.50 as d')).rows).toEqual([{ d: '1.50' }])
    })

    it('datetime is a string (a Date param is stored as UTC)', async () => {
      expect((await select('at')).rows).toEqual([{ at: '2024-02-29 13:14:15' }])
    })

    it('json is parsed', async () => {
      expect((await select('doc')).rows).toEqual([{ doc: { a: [1, 2], b: 'ü' } }])
    })

    it('binary is a Uint8Array', async () => {
      const { rows } = await select('bin')
      expect(rows[0]!.bin).toBeInstanceOf(Uint8Array)
      expect(rows).toEqual([{ bin: new Uint8Array([0, 1, 255]) }])
    })

    it('null is null', async () => {
      expect((await select('note')).rows).toEqual([{ note: null }])
      expect((await same('select null as nothing, ? as p', [null])).rows).toEqual([{ nothing: null, p: null }])
    })

    it('a read with no rows still has its columns; a write reports rows changed', async () => {
      const empty = await same(`select name from ${table} where name = ?`, ['absent'])
      expect(empty).toMatchObject({ rows: [], rowCount: 0, columns: ['name'] })
      const update = await db.query(`update ${table} set note = ? where name = ? or name = ?`, ['x', 'typed', 'absent'])
      expect(update).toEqual({ rows: [], rowCount: 1, columns: [] })
      await db.query(`update ${table} set note = null where name = 'typed'`)
    })
  })

  describe('transactions', () => {
    const names = (name: string) => directRows(`select name from ${table} where name = '${name}'`)
    const count = async (q: { query: Database['query'] }, name: string) =>
      (await q.query<{ c: string }>(`select count(*) as c from ${table} where name like ?`, [name])).rows[0]!.c

    it('commits only when fn resolves; a second session sees nothing before', async () => {
      const value = await db.transaction(async (tx) => {
        await tx.query(`insert into ${table} (name) values (?)`, ['tx-commit'])
        expect(await count(tx, 'tx-commit')).toBe('1')
        expect(gw.pinnedSessions()).toBe(1)
        expect(await names('tx-commit')).toEqual([]) // mysql2, another session: not yet
        expect(await count(db, 'tx-commit')).toBe('0') // lazydb outside the transaction: not yet
        return 'done'
      })
      expect(value).toBe('done')
      expect(await names('tx-commit')).toEqual([{ name: 'tx-commit' }])
      expect(gw.pinnedSessions()).toBe(0)
    })

    it('rolls back when fn throws, rethrowing its error', async () => {
      const mine = new Error('nope')
      const caught = await db
        .transaction(async (tx) => {
          await tx.query(`insert into ${table} (name) values (?)`, ['tx-rollback'])
          expect(await names('tx-rollback')).toEqual([])
          throw mine
        })
        .catch((e: unknown) => e)
      expect(caught).toBe(mine)
      expect(await names('tx-rollback')).toEqual([])
      expect(gw.pinnedSessions()).toBe(0)
    })

    // MariaDB's @@tx_isolation shows the session's level, not the one SET TRANSACTION gives the
    // next transaction, so the level is checked by what it does: a row another session commits
    // mid-transaction is seen under READ COMMITTED and not under REPEATABLE READ (the default).
    async function seesConcurrentCommit(name: string, options?: Parameters<Database['transaction']>[1]) {
      const [before, after] = await db.transaction(async (tx) => {
        const first = await count(tx, `${name}%`) // takes the snapshot
        await direct.query(`insert into ${table} (name) values ('${name}-1')`)
        return [first, await count(tx, `${name}%`)]
      }, options)
      return after !== before
    }

    it('applies the isolation level to its own transaction only', async () => {
      expect(await seesConcurrentCommit('iso-rc', { isolationLevel: 'read committed' })).toBe(true)
      expect(await seesConcurrentCommit('iso-default')).toBe(false)
      expect(await seesConcurrentCommit('iso-rr', { isolationLevel: 'repeatable read' })).toBe(false)
      expect(await seesConcurrentCommit('iso-again', { isolationLevel: 'read committed' })).toBe(true)
      expect(await seesConcurrentCommit('iso-after')).toBe(false)
    })

    it('opens a read-only transaction with readOnly', async () => {
      const error = (await db
        .transaction(
          async (tx) => {
            expect(await count(tx, 'typed')).toBe('1')
            await tx.query(`insert into ${table} (name) values (?)`, ['read-only'])
          },
          { readOnly: true },
        )
        .catch((e: unknown) => e)) as LazyDbError
      expect(error).toBeInstanceOf(LazyDbError)
      expect(error).toMatchObject({ code: 'QUERY_FAILED', errno: 1792, sqlState: '25006' })
      expect(await names('read-only')).toEqual([])
      expect(gw.pinnedSessions()).toBe(0)
    })

    it('queues statements that fn sends at once on its one session', async () => {
      await db.transaction(async (tx) => {
        await Promise.all(
          ['par-1', 'par-2', 'par-3'].map((name) => tx.query(`insert into ${table} (name) values (?)`, [name])),
        )
      })
      expect(await directRows(`select name from ${table} where name like 'par-%' order by name`)).toEqual([
        { name: 'par-1' },
        { name: 'par-2' },
        { name: 'par-3' },
      ])
    })
  })

  describe('schema', () => {
    const database = async (q: { query: Database['query'] }) =>
      (await q.query<{ db: string }>('select database() as db')).rows[0]!.db

    it('reads and writes the other database, and leaves the plain one as it was', async () => {
      const other = registry.using(undefined, { schema: MARIADB_OTHER_DATABASE })
      for (let i = 0; i < 3; i++) {
        // interleaved, so both go through the same gateway pool connections
        expect(await database(other)).toBe(MARIADB_OTHER_DATABASE)
        expect(await database(db)).toBe(MARIADB_CREDENTIALS.database)
      }
      const read = await other.query(`select v from ${otherTable}`)
      expect(read.rows).toEqual(await directRows(`select v from ${MARIADB_OTHER_DATABASE}.${otherTable}`))
      expect(read.rows).toEqual([{ v: 'elsewhere' }])
      await other.query(`insert into ${otherTable} (v) values (?)`, ['written'])
      expect(await directRows(`select v from ${MARIADB_OTHER_DATABASE}.${otherTable} where v = 'written'`)).toEqual([
        { v: 'written' },
      ])
      const missing = await db.query(`select v from ${otherTable}`).catch((e: unknown) => e)
      expect(missing).toMatchObject({ code: 'QUERY_FAILED', errno: 1146 }) // not in the plain database
      expect(await database(db)).toBe(MARIADB_CREDENTIALS.database)
    })

    it('binds transactions and batches to the schema', async () => {
      const other = registry.using(undefined, { schema: MARIADB_OTHER_DATABASE })
      await other.transaction(
        async (tx) => {
          expect(await database(tx)).toBe(MARIADB_OTHER_DATABASE)
          await tx.query(`insert into ${otherTable} (v) values (?)`, ['in-tx'])
        },
        { isolationLevel: 'read committed' },
      )
      const results = await other.batch([
        { text: `insert into ${otherTable} (v) values (?)`, params: ['in-batch'] },
        { text: 'select database() as db' },
      ])
      expect(results[1]!.rows).toEqual([{ db: MARIADB_OTHER_DATABASE }])
      expect(
        await directRows(`select v from ${MARIADB_OTHER_DATABASE}.${otherTable} where v like 'in-%' order by v`),
      ).toEqual([{ v: 'in-batch' }, { v: 'in-tx' }])
      expect(await database(db)).toBe(MARIADB_CREDENTIALS.database)
      expect(gw.pinnedSessions()).toBe(0)
    })

    it('costs one extra request (USE on a session of its own); none without a schema', async () => {
      const other = registry.using(undefined, { schema: MARIADB_OTHER_DATABASE })
      await db.query('select 1')
      gw.resetCounters()
      await other.query('select 1')
      expect(gw.roundTrips).toBe(2)
      await db.query('select 1')
      expect(gw.roundTrips).toBe(3)
    })
  })

  describe('errors', () => {
    it('a duplicate key is QUERY_FAILED with errno 1062, SQLSTATE 23000 and the driver error as cause', async () => {
      const sql = `insert into ${table} (name) values ('typed')`
      const error = (await db.query(sql).catch((e: unknown) => e)) as LazyDbError
      expect(error).toBeInstanceOf(LazyDbError)
      expect(error).toMatchObject({
        code: 'QUERY_FAILED',
        database: 'default',
        errno: 1062,
        sqlState: '23000',
        constraint: 'name',
        mayHaveRun: true,
      })
      expect(error.cause).toBeInstanceOf(DatabaseError)
      expect(error.message).toMatch(/Duplicate entry 'typed'/)
      await expect(direct.query(sql)).rejects.toMatchObject({ errno: 1062, sqlState: '23000' })
    })

    it('a syntax error is QUERY_FAILED with errno 1064', async () => {
      const error = (await db.query('selec 1').catch((e: unknown) => e)) as LazyDbError
      expect(error).toMatchObject({ code: 'QUERY_FAILED', errno: 1064, sqlState: '42000' })
      await expect(direct.query('selec 1')).rejects.toMatchObject({ errno: 1064, sqlState: '42000' })
    })

    it('a wrong password is CONNECT_FAILED, and the password is nowhere in the error', async () => {
      const wrong = 'wr0ng-pw-zq81x'
      const bad = await open(planetscale(gw.url(USER, wrong)))
      const error = (await bad.database.query('select 1').catch((e: unknown) => e)) as LazyDbError
      expect(error).toBeInstanceOf(LazyDbError)
      expect(error.code).toBe('CONNECT_FAILED')
      expect(error.message).toMatch(/could not connect/)
      expect((error.cause as DatabaseError).status).toBe(401)
      let text =
        `${String(error)} ${error.stack} ${JSON.stringify(error)} ` +
        `${inspect(error, { depth: 10, showHidden: true })}`
      for (let cause: unknown = error.cause; cause instanceof Error; cause = cause.cause)
        text += ` ${cause.message} ${cause.stack} ${JSON.stringify(cause)}`
      expect(text).toContain('invalid username or password')
      expect(text).not.toContain(wrong)
      expect(bad.database.url).not.toContain(wrong)
    })

    it('classifies driver and network errors', () => {
      const vitess = (errno: number, state: string, status = 400) =>
        new DatabaseError(
          `target: x.-.primary: vttablet: rpc error: code = Unknown desc = boom (errno ${errno}) (sqlstate ${state}) ` +
            `(CallerID: u): Sql: "select '(errno 1) (sqlstate 00000)'"`,
          status,
          { code: 'UNKNOWN', message: '' },
        )
      expect(planetscaleDriver.classify(vitess(1040, '08004'))).toMatchObject({
        errno: 1040,
        sqlState: '08004',
        transient: true,
        notSent: true,
      })
      expect(planetscaleDriver.classify(vitess(1045, '28000'))).toMatchObject({ errno: 1045, auth: true })
      expect(planetscaleDriver.classify(vitess(2013, 'HY000'))).toMatchObject({ errno: 2013, lostMaybeRun: true })
      expect(
        planetscaleDriver.classify(
          new DatabaseError('invalid username or password', 401, { code: 'unauthenticated', message: '' }),
        ),
      ).toEqual({ auth: true })
      const refused = Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      })
      expect(planetscaleDriver.classify(refused)).toMatchObject({ notSent: true, transient: true })
      expect(
        planetscaleDriver.classify(new Error('Cannot format query: empty arrays are not valid SQL values')),
      ).toEqual({})
    })
  })

  describe('config and round trips', () => {
    it('turns mysql:// into https, passes fetch and cast through', async () => {
      const seen: string[] = []
      const viaGateway = (url: string, init?: Parameters<typeof fetch>[1]) => {
        seen.push(url)
        return fetch(url.replace(/^https:\/\/[^/]+/, `http://127.0.0.1:${gw.port}`), init)
      }
      const bigints: Cast = (field, value) =>
        field.type === 'INT64' && value !== null ? BigInt(value) : defaultCast(field, value)
      const reg = await open(
        planetscale(`mysql://${USER}:${PASSWORD}@aws.connect.psdb.cloud/ignored`, { fetch: viaGateway, cast: bigints }),
      )
      const { rows } = await reg.database.query('select count(*) as c, 1 as one')
      expect(rows).toEqual([{ c: 1n, one: 1 }])
      expect(seen).toEqual(['https://aws.connect.psdb.cloud/psdb.v1alpha1.Database/Execute'])
      expect(reg.database.url).not.toContain(PASSWORD)
      const fromConfig = await open({ url: gw.url(), driver: 'planetscale' })
      expect(fromConfig.database.driver).toBe('planetscale')
      expect((await fromConfig.database.query('select 3 as n')).rows).toEqual([{ n: 3 }])
    })

    it('sends one request for the first query and one per warm query, like the raw driver', async () => {
      const reg = await open(planetscale(gw.url()))
      gw.resetCounters()
      await reg.database.query('select 1')
      expect(gw.roundTrips).toBe(1)
      await reg.database.query('select 2')
      expect(gw.roundTrips).toBe(2)
      // the warm client may be one an earlier registry made for the same URL (shared per process)
      expect(reg.stats().databases.default).toMatchObject({ queries: 2, errors: 0 })
      expect(reg.stats().databases.default!.connects).toBeLessThanOrEqual(1)
      const raw = new Client({ url: gw.url() })
      gw.resetCounters()
      await raw.execute('select 1')
      await raw.execute('select 2')
      expect(gw.roundTrips).toBe(2)
      expect(await reg.database.client()).toBeInstanceOf(Client)
    })
  })

  describe('cleanup', () => {
    it('leaves no transaction open and no server connection behind', async () => {
      await Promise.all(registries.map((r) => r.disconnect({ force: true })))
      expect(gw.pinnedSessions()).toBe(0)
      await gw.close()
      gatewayClosed = true
      expect(gw.openMysqlConnections()).toBe(0)
      expect(await poll(async () => (await mariadbConnectionCount(USER)) <= baseline)).toBe(true)
    })
  })
})
