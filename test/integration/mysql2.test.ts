// lazydb's mysql2 driver against the real MariaDB, over TCP as a MariaDB user of this file's own (so
// counting its server connections is not disturbed by other files): the shared conformance suite through
// a URL-only config and through the mysql2() factory, then what mysql2 itself brings — types, isolation
// levels, a schema switch that leaves nothing on a pool of one, a BEGIN sent as a statement, errors with
// errno/SQLSTATE, a forced close under a queued checkout, a server KILL of an idle pooled connection, an
// unreachable server, the program_name connection attribute, idle connections closed, no password anywhere.
import { execFileSync } from 'node:child_process'
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net'
import { inspect } from 'node:util'
import mysql, { type Connection as MysqlConnection, type Pool } from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Database, handler, LazyDbError, Registry } from '@lazydb/core'
import { type Mysql2Options, mysql2, mysql2Driver } from '@lazydb/core/mysql2'
import { conformance, type Dialect } from '../support/conformance.js'
import {
  ensureMariadbUser,
  MARIADB_CREDENTIALS,
  MARIADB_OTHER_DATABASE,
  MARIADB_SOCKET,
  mariadbConnectionCount,
  mysqlDirect,
  requireMariadb,
  setupMariadb,
} from '../support/mariadb.js'
import { poll } from '../support/poll.js'
import { closedPort } from '../support/ports.js'

const hasMariadb = await requireMariadb()
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const mysqlDialect: Dialect = {
  param: () => '?',
  createTable: (t) => `create table ${t} (id bigint auto_increment primary key, name varchar(100) unique)`,
  dropTable: (t) => `drop table if exists ${t}`,
  uniqueSqlState: '23000',
  lastInsertId: true,
}

const USER = 'lazydb_mysql2_driver'
const PASSWORD = 'my2-driver-pw-5517'
/** A second user, for the idle-close test: its connections are counted while this file's others stay open. */
const IDLE_USER = 'lazydb_mysql2_idle'
const IDLE_PASSWORD = 'my2-idle-pw-6620'
const DB = MARIADB_CREDENTIALS.database
const url = (database = DB, user = USER, password = PASSWORD, port = 3306) =>
  `mysql://${user}:${password}@127.0.0.1:${port}/${database}`

async function ensureUsers(): Promise<void> {
  await setupMariadb()
  await ensureMariadbUser(USER, PASSWORD)
  await ensureMariadbUser(IDLE_USER, IDLE_PASSWORD)
}
const usersReady = hasMariadb ? ensureUsers() : Promise.resolve()

let owned = 0
/**
 * Options that make a database's warm client its own: databases configured alike share one warm pool per
 * process, so without this a test would count (or close) another test's connections.
 */
const own = (options: Mysql2Options = {}): Mysql2Options => ({ applicationName: `my2-test-${++owned}`, ...options })

const registries: Registry[] = []
function open<D extends ConstructorParameters<typeof Registry>[0]['database']>(
  database: D,
  options: Omit<ConstructorParameters<typeof Registry>[0], 'database'> = {},
) {
  const registry = new Registry({ database, warn: false, platform: 'node', ...options })
  registries.push(registry as unknown as Registry)
  return registry
}

/** Root over the Unix socket (it may log in nowhere else), for KILL. */
function rootConnection(): Promise<MysqlConnection> {
  return mysql.createConnection({
    socketPath: MARIADB_SOCKET,
    user: 'root',
    authPlugins: { unix_socket: () => () => Buffer.alloc(0) },
  })
}

/** A promise, or a rejection once `ms` have passed with it still pending: a hang fails fast. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: pending after ${ms} ms`)), ms)),
      ),
    ])
  } finally {
    clearTimeout(timer)
  }
}

const rejection = (promise: Promise<unknown>) =>
  within(
    promise.then(
      () => new Error('expected a rejection, but it resolved'),
      (error: unknown) => error,
    ),
    5000,
    'rejection',
  ) as Promise<LazyDbError>

afterAll(async () => {
  await Promise.all(registries.map((r) => r.disconnect({ force: true })))
})

conformance(
  'mysql2 url',
  mysqlDialect,
  async () => {
    await usersReady
    const direct = await mysqlDirect({ supportBigNumbers: true, bigNumberStrings: true })
    const reference = async (text: string, params?: unknown[]) =>
      (await direct.query(text, params))[0] as Record<string, unknown>[]
    return { registry: open(url()), reference, cleanup: () => direct.end() }
  },
  hasMariadb,
)

conformance(
  'mysql2 factory',
  mysqlDialect,
  async () => {
    await usersReady
    return { registry: open(mysql2(url(), own({ max: 3 }))) }
  },
  hasMariadb,
)

describe.skipIf(!hasMariadb)('mysql2 driver', () => {
  const table = `my2_driver_items_${process.pid}`
  const otherTable = `my2_driver_other_${process.pid}`
  let direct: MysqlConnection
  let db: Database<Pool>
  let registry: Registry

  const directRows = async (sql: string, params?: unknown[]) =>
    ((await direct.query(sql, params))[0] as Array<Record<string, unknown>>).map((r) => ({ ...r }))
  const connectionId = async (q: { query: Database['query'] }) =>
    (await q.query<{ id: string }>('select connection_id() as id')).rows[0]!.id
  const currentDatabase = async (q: { query: Database['query'] }) =>
    (await q.query<{ db: string | null }>('select database() as db')).rows[0]!.db

  beforeAll(async () => {
    await usersReady
    direct = await mysqlDirect({ supportBigNumbers: true, bigNumberStrings: true })
    await direct.query(`DROP TABLE IF EXISTS ${table}`)
    await direct.query(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL UNIQUE,
      n INT, big BIGINT, price DECIMAL(10,2), at DATETIME, day DATE, doc JSON, bin VARBINARY(16), note TEXT NULL)`)
    await direct.query(`DROP TABLE IF EXISTS ${MARIADB_OTHER_DATABASE}.${otherTable}`)
    await direct.query(`CREATE TABLE ${MARIADB_OTHER_DATABASE}.${otherTable} (v VARCHAR(20))`)
    await direct.query(`INSERT INTO ${MARIADB_OTHER_DATABASE}.${otherTable} VALUES ('elsewhere')`)
    const opened = open(mysql2(url(), own()))
    registry = opened as unknown as Registry
    db = opened.database
  })

  afterAll(async () => {
    if (direct === undefined) return
    await direct.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {})
    await direct.query(`DROP TABLE IF EXISTS ${MARIADB_OTHER_DATABASE}.${otherTable}`).catch(() => {})
    await direct.end()
  })

  describe('params', () => {
    it('fills ? placeholders, escaping each value', async () => {
      const { rows } = await db.query('select ? as s, ? as i, ? as q', ["it's", 7, 'a"b\\c'])
      expect(rows).toEqual([{ s: "it's", i: 7, q: 'a"b\\c' }])
    })

    it('fills :name placeholders from an object (mysql2 namedPlaceholders, for that statement only)', async () => {
      const { rows } = await db.query('select :name as name, :n as n, :name as again', { name: 'named', n: 3 })
      expect(rows).toEqual([{ name: 'named', n: 3, again: 'named' }])
      // an array still fills ? afterwards: the named mode did not stay on
      expect((await db.query('select ? as p', ['positional'])).rows).toEqual([{ p: 'positional' }])
    })

    it('binds sql`` values as ? parameters', async () => {
      const value = "o'k -- not sql"
      const { rows } = await db.sql<{ v: string; n: number }>`select ${value} as v, ${5} as n`
      expect(rows).toEqual([{ v: value, n: 5 }])
    })
  })

  describe('types (what mysql2 returns, with lazydb’s defaults)', () => {
    let insertedId: string | undefined
    beforeAll(async () => {
      const result = await db.query(
        `insert into ${table} (name, n, big, price, at, day, doc, bin, note) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          'typed',
          42,
          '9007199254740993',
          '12.34',
          '2024-02-29 13:14:15',
          '2024-02-29',
          JSON.stringify({ a: [1, 2], b: 'ü' }),
          Buffer.from([0, 1, 255]),
          null,
        ],
      )
      expect(result).toMatchObject({ rowCount: 1, rows: [], columns: [] })
      insertedId = result.lastInsertId
    })
    const select = async (columns: string) =>
      (await db.query(`select ${columns} from ${table} where name = ?`, ['typed'])).rows[0]!

    it('reports the insert id as a string, as stored', async () => {
      expect(insertedId).toMatch(/^[1-9][0-9]*$/)
      expect(await directRows(`select id from ${table} where name = 'typed'`)).toEqual([{ id: insertedId }])
    })

    it('INT is a number; BIGINT a string, exact above 2^53 (supportBigNumbers + bigNumberStrings)', async () => {
      expect(await select('n, big, id')).toEqual({ n: 42, big: '9007199254740993', id: insertedId })
      expect((await db.query('select count(*) as c')).rows).toEqual([{ c: '1' }])
    })

    it('DECIMAL is a string', async () => {
      expect(await select('price')).toEqual({ price: '12.34' })
    })

    it('DATETIME and DATE are Dates (mysql2 default, timezone "local")', async () => {
      const { at, day } = await select('at, day')
      expect(at).toBeInstanceOf(Date)
      expect(at).toEqual(new Date(2024, 1, 29, 13, 14, 15))
      expect(day).toEqual(new Date(2024, 1, 29))
    })

    it('a JSON column on MariaDB (LONGTEXT with a check) is parsed', async () => {
      expect(await select('doc')).toEqual({ doc: { a: [1, 2], b: 'ü' } })
    })

    it('VARBINARY is a Buffer; NULL is null', async () => {
      const { bin, note } = await select('bin, note')
      expect(Buffer.isBuffer(bin)).toBe(true)
      expect([...(bin as Buffer)]).toEqual([0, 1, 255])
      expect(note).toBeNull()
    })

    it('a read with no rows still has its columns; a write reports rows changed, without an insert id', async () => {
      const empty = await db.query(`select name from ${table} where name = ?`, ['absent'])
      expect(empty).toEqual({ rows: [], rowCount: 0, columns: ['name'] })
      const update = await db.query(`update ${table} set note = ? where name in (?, ?)`, ['x', 'typed', 'absent'])
      expect(update).toEqual({ rows: [], rowCount: 1, columns: [] })
    })
  })

  describe('transactions', () => {
    const count = async (q: { query: Database['query'] }, name: string) =>
      (await q.query<{ c: string }>(`select count(*) as c from ${table} where name like ?`, [name])).rows[0]!.c

    // MariaDB's @@tx_isolation shows the session's level, not the one SET TRANSACTION gives the next
    // transaction, so the level is checked by what it does: a row another session commits mid-transaction
    // is seen under READ COMMITTED, not under REPEATABLE READ (the default).
    async function seesConcurrentCommit(name: string, options?: Parameters<Database['transaction']>[1]) {
      const [before, after] = await db.transaction(async (tx) => {
        const first = await count(tx, `${name}%`)
        await direct.query(`insert into ${table} (name) values (?)`, [`${name}-1`])
        return [first, await count(tx, `${name}%`)]
      }, options)
      return after !== before
    }

    it('applies the isolation level to its own transaction only', async () => {
      expect(await seesConcurrentCommit('iso-rc', { isolationLevel: 'read committed' })).toBe(true)
      expect(await seesConcurrentCommit('iso-default')).toBe(false)
      expect(await seesConcurrentCommit('iso-rr', { isolationLevel: 'repeatable read' })).toBe(false)
      expect(await seesConcurrentCommit('iso-ru', { isolationLevel: 'read uncommitted' })).toBe(true)
      expect(await seesConcurrentCommit('iso-after')).toBe(false)
    })

    it('serializable takes shared locks on what it reads (a concurrent write waits, then times out)', async () => {
      const writer = await mysqlDirect()
      try {
        await writer.query('set session innodb_lock_wait_timeout = 1')
        const outcome = await db.transaction(
          async (tx) => {
            await tx.query(`select * from ${table} where name = 'typed'`)
            return writer.query(`update ${table} set n = 43 where name = 'typed'`).then(
              () => 'written',
              (e: { errno?: number }) => e.errno,
            )
          },
          { isolationLevel: 'serializable' },
        )
        expect(outcome).toBe(1205) // ER_LOCK_WAIT_TIMEOUT
      } finally {
        await writer.end()
      }
    })

    it('opens a read-only transaction with readOnly', async () => {
      const error = await rejection(
        db.transaction(
          async (tx) => {
            expect(await count(tx, 'typed')).toBe('1')
            await tx.query(`insert into ${table} (name) values (?)`, ['read-only'])
          },
          { readOnly: true },
        ),
      )
      expect(error).toMatchObject({ code: 'QUERY_FAILED', errno: 1792, sqlState: '25006' })
      expect(await directRows(`select name from ${table} where name = 'read-only'`)).toEqual([])
    })

    it('runs statements that fn sends at once in turn on its one connection', async () => {
      await db.transaction(async (tx) => {
        await Promise.all(
          ['par-1', 'par-2', 'par-3'].map((n) => tx.query(`insert into ${table} (name) values (?)`, [n])),
        )
      })
      expect(await directRows(`select name from ${table} where name like 'par-%' order by name`)).toEqual([
        { name: 'par-1' },
        { name: 'par-2' },
        { name: 'par-3' },
      ])
    })
  })

  describe('a BEGIN sent as a statement (pool of one, so the next statement gets the same connection)', () => {
    it('is rolled back and reported as TRANSACTION_UNSUPPORTED; the connection goes back clean', async () => {
      const one = open(mysql2(url(), own({ max: 1 }))).database
      const id = await connectionId(one)
      const error = await rejection(one.query('begin'))
      expect(error).toBeInstanceOf(LazyDbError)
      expect(error).toMatchObject({ code: 'TRANSACTION_UNSUPPORTED', mayHaveRun: true })
      expect(error.message).toMatch(/rolled it back.*db\.transaction/)
      // the same connection, no longer in a transaction: what it writes now is committed at once
      expect(await connectionId(one)).toBe(id)
      expect((await one.query('select @@in_transaction as t')).rows).toEqual([{ t: '0' }]) // BIGINT: a string
      await one.query(`insert into ${table} (name) values ('after-begin')`)
      expect(await directRows(`select name from ${table} where name = 'after-begin'`)).toEqual([
        { name: 'after-begin' },
      ])
    })

    it('a write after BEGIN in a CALL is rolled back too', async () => {
      const proc = `my2_begin_proc_${process.pid}`
      await direct.query(`drop procedure if exists ${proc}`)
      await direct.query(`create procedure ${proc}() begin start transaction; insert into ${table} (name) values
        ('in-proc'); end`)
      try {
        const one = open(mysql2(url(), own({ max: 1 }))).database
        const error = await rejection(one.query(`call ${proc}()`))
        expect(error).toMatchObject({ code: 'TRANSACTION_UNSUPPORTED', mayHaveRun: true })
        expect((await one.query('select @@in_transaction as t')).rows).toEqual([{ t: '0' }]) // BIGINT: a string
        expect(await directRows(`select name from ${table} where name = 'in-proc'`)).toEqual([])
      } finally {
        await direct.query(`drop procedure if exists ${proc}`)
      }
    })

    it('a CALL that opens a transaction and then fails: its error, and the transaction rolled back', async () => {
      const proc = `my2_fail_proc_${process.pid}`
      await direct.query(`drop procedure if exists ${proc}`)
      await direct.query(`create procedure ${proc}() begin start transaction; insert into ${table} (name) values
        ('in-failed-proc'); signal sqlstate '45000' set message_text = 'proc gave up'; end`)
      try {
        const one = open(mysql2(url(), own({ max: 1 }))).database
        const id = await connectionId(one)
        const error = await rejection(one.query(`call ${proc}()`))
        expect(error).toMatchObject({ code: 'QUERY_FAILED', errno: 1644, sqlState: '45000' })
        expect((await one.query('select @@in_transaction as t')).rows).toEqual([{ t: '0' }])
        expect(await connectionId(one)).toBe(id)
        expect(await directRows(`select name from ${table} where name = 'in-failed-proc'`)).toEqual([])
      } finally {
        await direct.query(`drop procedure if exists ${proc}`)
      }
    })

    it('in a batch or a statement bound to a schema (inside lazydb’s own transaction): refused unsent', async () => {
      const reg = open(mysql2(url(), own({ max: 1 })))
      const batch = await rejection(
        reg.database.batch([{ text: `insert into ${table} (name) values ('batch-begin')` }, { text: 'begin' }]),
      )
      expect(batch).toMatchObject({ code: 'TRANSACTION_UNSUPPORTED', mayHaveRun: false })
      const other = reg.using(undefined, { schema: MARIADB_OTHER_DATABASE })
      expect(await rejection(other.query(' /* x */ START TRANSACTION'))).toMatchObject({
        code: 'TRANSACTION_UNSUPPORTED',
        mayHaveRun: false,
      })
      expect(await directRows(`select name from ${table} where name = 'batch-begin'`)).toEqual([])
    })

    it('SET autocommit = 0 is reported and its connection dropped, not given back', async () => {
      const one = open(mysql2(url(), own({ max: 1 }))).database
      const id = await connectionId(one)
      const error = await rejection(one.query('set autocommit = 0'))
      expect(error).toMatchObject({ code: 'TRANSACTION_UNSUPPORTED' })
      expect(await connectionId(one)).not.toBe(id)
      expect((await one.query('select @@autocommit as a')).rows).toEqual([{ a: '1' }])
    })
  })

  describe('schema switch (registry.using(name, { schema }))', () => {
    it('pool of one: the next statement without a schema sees the URL’s database, on the same connection', async () => {
      const reg = open(mysql2(url(), own({ max: 1 })))
      const plain = reg.database
      const other = reg.using(undefined, { schema: MARIADB_OTHER_DATABASE })
      const id = await connectionId(plain)
      for (let i = 0; i < 3; i++) {
        expect(await currentDatabase(other)).toBe(MARIADB_OTHER_DATABASE)
        expect(await currentDatabase(plain)).toBe(DB)
      }
      expect((await other.query(`select v from ${otherTable}`)).rows).toEqual([{ v: 'elsewhere' }])
      const missing = await rejection(plain.query(`select v from ${otherTable}`))
      expect(missing).toMatchObject({ code: 'QUERY_FAILED', errno: 1146 }) // not in the URL's database
      // a statement that fails in the schema leaves nothing behind either
      expect(await rejection(other.query('select * from no_such_table'))).toMatchObject({ errno: 1146 })
      expect(await currentDatabase(plain)).toBe(DB)
      expect((await plain.query('select @@in_transaction as t')).rows).toEqual([{ t: '0' }]) // BIGINT: a string
      expect(await connectionId(plain)).toBe(id)
    })

    it('writes in the schema are committed; transactions and batches are bound to it', async () => {
      const reg = open(mysql2(url(), own({ max: 1 })))
      const other = reg.using(undefined, { schema: MARIADB_OTHER_DATABASE })
      await other.query(`insert into ${otherTable} (v) values (?)`, ['written'])
      await other.transaction(
        async (tx) => {
          expect(await currentDatabase(tx)).toBe(MARIADB_OTHER_DATABASE)
          await tx.query(`insert into ${otherTable} (v) values (?)`, ['in-tx'])
        },
        { isolationLevel: 'read committed' },
      )
      const results = await other.batch([
        { text: `insert into ${otherTable} (v) values (?)`, params: ['in-batch'] },
        { text: 'select database() as db' },
      ])
      expect(results[1]!.rows).toEqual([{ db: MARIADB_OTHER_DATABASE }])
      const rolledBack = await rejection(
        other.transaction(async (tx) => {
          await tx.query(`insert into ${otherTable} (v) values (?)`, ['rolled-back'])
          throw new LazyDbError('QUERY_FAILED', 'stop')
        }),
      )
      expect(rolledBack.message).toBe('stop')
      expect(
        await directRows(`select v from ${MARIADB_OTHER_DATABASE}.${otherTable} where v <> 'elsewhere' order by v`),
      ).toEqual([{ v: 'in-batch' }, { v: 'in-tx' }, { v: 'written' }])
      expect(await currentDatabase(reg.database)).toBe(DB)
    })

    it('a URL without a database: the connection a schema was used on is dropped, not given back', async () => {
      const reg = open(mysql2(url(''), own({ max: 1 })))
      const id = await connectionId(reg.database)
      expect(await currentDatabase(reg.database)).toBeNull()
      expect(await currentDatabase(reg.using(undefined, { schema: DB }))).toBe(DB)
      expect(await currentDatabase(reg.database)).toBeNull()
      expect(await connectionId(reg.database)).not.toBe(id)
    })
  })

  describe('errors', () => {
    it('a duplicate key is QUERY_FAILED with errno 1062, SQLSTATE 23000, the key and the driver error', async () => {
      const error = await rejection(db.query(`insert into ${table} (name) values ('typed')`))
      expect(error).toBeInstanceOf(LazyDbError)
      expect(error).toMatchObject({
        code: 'QUERY_FAILED',
        database: 'default',
        errno: 1062,
        sqlState: '23000',
        constraint: 'name',
        mayHaveRun: true,
      })
      expect((error.cause as { code?: string }).code).toBe('ER_DUP_ENTRY')
      expect(error.message).toMatch(/^database "default" \(mysql2\): Duplicate entry 'typed'/)
    })

    it('a syntax error is QUERY_FAILED with errno 1064, SQLSTATE 42000', async () => {
      expect(await rejection(db.query('selec 1'))).toMatchObject({
        code: 'QUERY_FAILED',
        errno: 1064,
        sqlState: '42000',
      })
    })

    it('a wrong password is CONNECT_FAILED with errno 1045, and the password is nowhere', async () => {
      const wrong = 'wr0ng-pw-zq81x'
      const bad = open(url(DB, USER, wrong))
      const error = await rejection(bad.database.query('select 1'))
      expect(error).toMatchObject({ code: 'CONNECT_FAILED', errno: 1045, sqlState: '28000' })
      expect(bad.stats().databases.default!.retries).toBe(0) // bad credentials are not retried
      const text = everything(error)
      expect(text).toContain('Access denied')
      expect(text).not.toContain(wrong)
      expect(inspect(bad, { depth: 10, showHidden: true })).not.toContain(wrong)
    })

    it('no password in util.inspect or JSON of the registry, the database or an error', async () => {
      await db.query('select 1')
      const error = await rejection(db.query('selec 1'))
      for (const text of [
        inspect(registry, { depth: 12, showHidden: true }),
        inspect(db, { depth: 12, showHidden: true }),
        JSON.stringify(registry.stats()),
        db.url,
        everything(error),
      ]) {
        expect(text).not.toContain(PASSWORD)
      }
      expect(db.url).toContain(USER)
    })

    it('classifies mysql2 and network errors', () => {
      const server = (errno: number, sqlState: string, code: string) =>
        Object.assign(new Error(code), { errno, sqlState, code })
      const c = mysql2Driver.classify
      expect(c(server(1040, '08004', 'ER_CON_COUNT_ERROR'))).toEqual({
        errno: 1040,
        sqlState: '08004',
        transient: true,
        notSent: true,
      })
      expect(c(server(1203, '42000', 'ER_TOO_MANY_USER_CONNECTIONS'))).toMatchObject({ transient: true, notSent: true })
      expect(c(server(1226, '42000', 'ER_USER_LIMIT_REACHED'))).toMatchObject({ transient: true, notSent: true })
      expect(c(server(1045, '28000', 'ER_ACCESS_DENIED_ERROR'))).toEqual({ errno: 1045, sqlState: '28000', auth: true })
      expect(c(server(1927, '70100', 'ER_CONNECTION_KILLED'))).toMatchObject({ lostMaybeRun: true })
      expect(c(server(1064, '42000', 'ER_PARSE_ERROR'))).toEqual({ errno: 1064, sqlState: '42000' })
      const lost = Object.assign(new Error('Connection lost: The server closed the connection.'), {
        code: 'PROTOCOL_CONNECTION_LOST',
        fatal: true,
      })
      expect(c(lost)).toEqual({ lostMaybeRun: true })
      expect(c(new Error("Can't add new command when connection is in closed state"))).toEqual({ notSent: true })
      const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), {
        code: 'ECONNREFUSED',
        address: '127.0.0.1',
        port: 9,
      })
      expect(c(refused)).toEqual({ notSent: true, transient: true, address: '127.0.0.1:9' })
      expect(c(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toMatchObject({
        lostMaybeRun: true,
      })
      expect(c(new Error('something else'))).toEqual({})
      expect(c('not an error')).toEqual({})
    })
  })

  describe('closing, losing and never reaching the server', () => {
    it('a forced disconnect settles a statement running and one queued for the pool’s only connection', async () => {
      const reg = open(mysql2(url(), own({ max: 1 })))
      await reg.database.query('select 1')
      const running = reg.database.query('select sleep(2) as s').then(
        () => 'resolved',
        (e: LazyDbError) => e,
      )
      await sleep(50)
      const queued = reg.database.query('select 1 as one').then(
        () => 'resolved',
        (e: LazyDbError) => e,
      )
      await sleep(50)
      await within(reg.disconnect({ force: true }), 2000, 'forced disconnect')
      const [first, second] = await within(Promise.all([running, queued]), 1000, 'statements settled')
      expect(first).toMatchObject({ code: 'CLOSED', mayHaveRun: true })
      expect(second).toMatchObject({ code: 'CLOSED', mayHaveRun: false })
    })

    it('a forced disconnect settles a checkout queued in the Pool by code using client() directly', async () => {
      const reg = open(mysql2(url(), own({ max: 1 })))
      const pool = await reg.database.client()
      const held = await pool.getConnection()
      const queued = pool.getConnection().then(
        (c) => (c.release(), 'resolved'),
        (e: Error) => e.message,
      )
      await within(reg.disconnect({ force: true }), 2000, 'forced disconnect')
      expect(await within(queued, 1000, 'queued checkout')).toBe('Pool is closed.')
      held.release()
    })

    it('a checkout that waits on a pool whose connections stay in use fails with TIMEOUT, not a hang', async () => {
      const one = open(mysql2(url(), own({ max: 1, acquireTimeoutMillis: 200 }))).database
      const error = await rejection(
        one.transaction(async () => {
          await one.query('select 1') // the wrong handle: db instead of tx, while tx holds the only connection
        }),
      )
      expect(error).toMatchObject({ code: 'TIMEOUT', mayHaveRun: false })
      expect(error.message).toMatch(/stayed in use for 200 ms/)
      expect((await one.query('select 2 as two')).rows).toEqual([{ two: 2 }])
    })

    it('a server KILL of an idle pooled connection is recovered on the next query, never crashing', async () => {
      const reg = open(mysql2(url(), own({ max: 1 })))
      const id = await connectionId(reg.database)
      const root = await rootConnection()
      try {
        await root.query(`KILL CONNECTION ${Number(id)}`)
        expect(await poll(async () => !(await processIds(root, USER)).includes(Number(id)))).toBe(true)
      } finally {
        await root.end()
      }
      const next = await connectionId(reg.database)
      expect(next).not.toBe(id)
      expect(reg.stats().databases.default).toMatchObject({ errors: 0, connects: 1 })
    })

    // As after a freeze: the server closed the pooled connection while this process could not run, so the
    // close waits unread in the socket when the next query is asked for. The KILL is run synchronously from
    // a child process (blocking this event loop) until the server has dropped the connection.
    it('a KILL the process has not read yet: the next query still runs, on a fresh connection', async () => {
      const reg = open(mysql2(url(), own({ max: 1 })))
      const id = Number(await connectionId(reg.database))
      const root = (sql: string) =>
        execFileSync('mariadb', ['-uroot', '-S', MARIADB_SOCKET, '-N', '-e', sql], { encoding: 'utf8' }).trim()
      root(`KILL CONNECTION ${id}`)
      const deadline = Date.now() + 3000
      while (root(`select count(*) from information_schema.processlist where id = ${id}`) !== '0') {
        if (Date.now() > deadline) throw new Error('the server did not drop the killed connection')
      }
      // The server lists the thread as gone a moment before its socket's close reaches this side.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50)
      const next = await within(connectionId(reg.database), 3000, 'query after the unread KILL')
      expect(Number(next)).not.toBe(id)
      expect(reg.stats().databases.default).toMatchObject({ errors: 0, retries: 0, connects: 1 })
    })

    it('an unreachable server at cold start: CONNECT_FAILED naming host:port, not the password, in time', async () => {
      const port = await closedPort()
      const reg = open(url(DB, USER, PASSWORD, port), { retry: { totalMs: 300, baseDelayMs: 20, maxDelayMs: 50 } })
      const error = await within(rejection(reg.database.query('select 1')), 3000, 'cold start against nothing')
      expect(error).toMatchObject({ code: 'CONNECT_FAILED' })
      expect(error.message).toContain(`127.0.0.1:${port}`)
      expect(everything(error)).not.toContain(PASSWORD)
      expect(reg.stats().databases.default!.retries).toBeGreaterThan(0)
    })

    it('a server that accepts and never answers: CONNECT_FAILED after connectTimeout, retries, no hang', async () => {
      const sockets = new Set<Socket>()
      const silent = createServer((socket) => void sockets.add(socket))
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
      const { port } = silent.address() as { port: number }
      try {
        const reg = open(mysql2(url(DB, USER, PASSWORD, port), own({ connectTimeout: 150 })), {
          retry: { totalMs: 200, baseDelayMs: 20, maxDelayMs: 50 },
        })
        const error = await within(rejection(reg.database.query('select 1')), 3000, 'cold start against silence')
        expect(error).toMatchObject({ code: 'CONNECT_FAILED' })
        expect(error.message).toMatch(/ETIMEDOUT/)
        expect(reg.stats().databases.default!.retries).toBeGreaterThan(0)
      } finally {
        for (const socket of sockets) socket.destroy()
        await new Promise((resolve) => silent.close(resolve))
      }
    })

    it('sends program_name (applicationName, else "lazydb") as a connection attribute', async () => {
      const proxy = await recordingProxy()
      try {
        const named = open(mysql2(url(DB, USER, PASSWORD, proxy.port), own({ applicationName: 'orders-api-x7' })))
        await named.database.query('select 1')
        const plain = open(mysql2(url(DB, USER, PASSWORD, proxy.port)))
        await plain.database.query('select 1')
        const [first, second] = proxy.handshakes()
        expect(attribute(first!, 'program_name')).toBe('orders-api-x7')
        expect(attribute(second!, 'program_name')).toBe('lazydb')
        expect(attribute(first!, '_client_name')).toBe('Node-MySQL-2') // mysql2's own attributes stay
      } finally {
        await Promise.all(registries.map((r) => r.disconnect({ force: true })))
        await proxy.close()
      }
    })

    // gracefulEnd (mysql2's option): the idle connection is ended with COM_QUIT rather than its socket closed.
    it.each([false, true])(
      'closes connections idle past idleTimeoutMillis (gracefulEnd %s); reopens on demand',
      async (gracefulEnd) => {
        const reg = open(
          mysql2(url(DB, IDLE_USER, IDLE_PASSWORD), own({ max: 3, idleTimeoutMillis: 100, gracefulEnd })),
        )
        await Promise.all([1, 2, 3].map(() => reg.database.query('select sleep(0.1)')))
        expect(await mariadbConnectionCount(IDLE_USER)).toBe(3)
        expect(await poll(async () => (await mariadbConnectionCount(IDLE_USER)) === 0)).toBe(true)
        expect((await reg.database.query('select 1 as one')).rows).toEqual([{ one: 1 }])
        expect(reg.stats().databases.default!.connects).toBe(1) // the same pool, not a new client
        await reg.disconnect()
      },
    )

    it('handler() closes nothing warm; disconnect() leaves no server connection of this user', async () => {
      const reg = open(mysql2(url(), own()))
      const fn = handler(reg, async () => (await reg.database.query('select 1 as one')).rows)
      expect(await fn()).toEqual([{ one: 1 }])
      expect(await fn()).toEqual([{ one: 1 }])
      expect(reg.stats().databases.default!.connects).toBeLessThanOrEqual(1)
      await Promise.all(registries.map((r) => r.disconnect()))
      expect(await poll(async () => (await mariadbConnectionCount(USER)) === 0)).toBe(true)
    })
  })

  describe('client() and config', () => {
    it('client() is the mysql2/promise Pool, usable as such', async () => {
      const reg = open(mysql2(url(), own()))
      const pool: Pool = await reg.database.client()
      const [rows] = await pool.query('select ? as v', ['raw'])
      expect(rows).toEqual([{ v: 'raw' }])
      expect(typeof pool.getConnection).toBe('function')
    })

    it('sizes the pool per platform (Workers: 5 per request, without eval); the user’s own options win', async () => {
      type Core = { config: { connectionLimit: number; connectionConfig: { disableEval?: boolean } } }
      const settings = async (platform: 'node' | 'aws-lambda' | 'cloudflare', options: Mysql2Options = {}) => {
        const reg = open(mysql2(url(), own(options)), { platform })
        const core = await handler(reg, async () => (await reg.database.client()).pool as unknown as Core)()
        return { max: core.config.connectionLimit, noEval: core.config.connectionConfig.disableEval === true }
      }
      expect(await settings('node')).toEqual({ max: 10, noEval: false })
      expect(await settings('aws-lambda')).toEqual({ max: 2, noEval: false })
      expect(await settings('cloudflare')).toEqual({ max: 5, noEval: true })
      expect(await settings('aws-lambda', { max: 4 })).toEqual({ max: 4, noEval: false })
      expect(await settings('node', { connectionLimit: 3 })).toEqual({ max: 3, noEval: false })
      expect(await settings('cloudflare', { disableEval: false, max: 1 })).toEqual({ max: 1, noEval: false })
    })

    it('a Pool ended by its user (client().end()) is replaced: the next statement gets a fresh one', async () => {
      const reg = open(mysql2(url(), own()))
      const pool = await reg.database.client()
      await pool.end()
      expect((await reg.database.query('select 1 as one')).rows).toEqual([{ one: 1 }])
      expect(await reg.database.client()).not.toBe(pool)
      expect(reg.stats().databases.default!.connects).toBe(2)
    })

    it('is not idle-closed while client() code has a connection checked out; is once it goes back', async () => {
      const closes: string[] = []
      const reg = open(mysql2(url(), own({ idleTimeoutMs: 100 })), { on: { close: (e) => void closes.push(e.reason) } })
      const pool = await reg.database.client() // outside handler(): no hold, only the Pool's own use counts
      const connection = await pool.getConnection()
      await sleep(400)
      expect(closes).toEqual([])
      expect((await connection.query('select 2 as two'))[0]).toEqual([{ two: 2 }])
      connection.release()
      expect(await poll(async () => closes.includes('idle'), 2000)).toBe(true)
    })

    it('checks options without I/O', () => {
      const bad = (options: Record<string, unknown>) => {
        try {
          new Registry({ database: mysql2(url(), options) })
          return undefined
        } catch (error) {
          return error as LazyDbError
        }
      }
      expect(bad({ max: 0 })).toMatchObject({ code: 'CONFIG_INVALID' })
      expect(bad({ connectionLimit: 2, max: 3 })?.message).toMatch(/connectionLimit and max disagree/)
      expect(bad({ nosuchOption: 1 })?.message).toMatch(/unknown mysql2 option nosuchOption/)
      expect(bad({ idleTimeoutMillis: -1 })).toMatchObject({ code: 'CONFIG_INVALID' })
      expect(bad({ connectionLimit: 4, ssl: { rejectUnauthorized: false }, timezone: 'Z' })).toBeUndefined()
      expect(() => new Registry({ database: { url: 'postgres://u:p@h/db', driver: 'mysql2' } })).toThrow(/mysql2/)
    })

    it('a mysql:// URL alone picks mysql2; a Hyperdrive-style binding works too', async () => {
      const reg = open({ connectionString: url() })
      expect(reg.database.driver).toBe('mysql2')
      expect((await reg.database.query('select 1 as one')).rows).toEqual([{ one: 1 }])
      expect(reg.database.url).not.toContain(PASSWORD)
    })
  })
})

/** Every text an error carries: message, stack, JSON, inspect, and its causes'. */
function everything(error: unknown): string {
  const shown = inspect(error, { depth: 10, showHidden: true })
  let text = `${String(error)} ${(error as Error).stack} ${JSON.stringify(error)} ${shown}`
  for (let cause = (error as Error).cause; cause instanceof Error; cause = cause.cause)
    text += ` ${cause.message} ${cause.stack} ${JSON.stringify(cause)}`
  return text
}

async function processIds(root: MysqlConnection, user: string): Promise<number[]> {
  const [rows] = await root.query('select id from information_schema.processlist where user = ?', [user])
  return (rows as Array<{ id: number }>).map((r) => Number(r.id))
}

/** A TCP proxy to MariaDB that keeps the first packet each client sends (its handshake response). */
async function recordingProxy(): Promise<{ port: number; handshakes(): Buffer[]; close(): Promise<void> }> {
  const handshakes: Buffer[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = netConnect(3306, '127.0.0.1')
    sockets.add(client).add(upstream)
    let first = true
    client.on('data', (chunk) => {
      if (first) handshakes.push(Buffer.from(chunk))
      first = false
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => client.write(chunk))
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    port,
    handshakes: () => handshakes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A connection attribute's value in a handshake response (length-prefixed key, then value). */
function attribute(packet: Buffer, key: string): string | undefined {
  const at = packet.indexOf(Buffer.concat([Buffer.from([key.length]), Buffer.from(key)]))
  if (at < 0) return undefined
  const start = at + 1 + key.length
  return packet.subarray(start + 1, start + 1 + packet[start]!).toString()
}
