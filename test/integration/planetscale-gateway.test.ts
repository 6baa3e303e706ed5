// The unmodified @planetscale/database driver, through the local gateway, against real MariaDB.
// Every read is checked against the same SQL sent straight to MariaDB through mysql2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, connect, DatabaseError } from '@planetscale/database'
import type { Connection as MysqlConnection } from 'mysql2/promise'
import {
  MARIADB_OTHER_DATABASE,
  mariadbConnectionCount,
  mysqlDirect,
  requireMariadb,
  setupMariadb,
} from '../support/mariadb.js'
import { startPlanetscaleGateway, type PlanetscaleGateway } from '../support/planetscale-gateway.js'
import { plainBytes, poll } from '../support/poll.js'

const hasMariadb = await requireMariadb()
const table = `ps_gw_items_${process.pid}`
const otherTable = `ps_gw_other_${process.pid}`

describe.skipIf(!hasMariadb)('PlanetScale driver through the gateway against MariaDB', () => {
  let gw: PlanetscaleGateway
  let direct: MysqlConnection
  let baseline = 0
  let closed = false

  /** Runs the driver's final statement through mysql2 and returns plain rows. */
  async function viaMysql(sql: string) {
    const [rows] = await direct.query(sql)
    return (rows as Array<Record<string, unknown>>).map(plainBytes)
  }

  beforeAll(async () => {
    await setupMariadb()
    baseline = await mariadbConnectionCount()
    gw = await startPlanetscaleGateway()
    direct = await mysqlDirect({ supportBigNumbers: true, bigNumberStrings: true, dateStrings: true })
    await direct.query(`DROP TABLE IF EXISTS ${table}`)
    await direct.query(`CREATE TABLE ${table} (
      id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(50) NOT NULL UNIQUE, n INT, big BIGINT,
      price DECIMAL(10,2), at DATETIME, doc JSON, bin VARBINARY(16), note TEXT NULL)`)
    await direct.query(`DROP TABLE IF EXISTS ${MARIADB_OTHER_DATABASE}.${otherTable}`)
    await direct.query(`CREATE TABLE ${MARIADB_OTHER_DATABASE}.${otherTable} (v VARCHAR(10))`)
    await direct.query(`INSERT INTO ${MARIADB_OTHER_DATABASE}.${otherTable} VALUES ('elsewhere')`)
  })

  afterAll(async () => {
    if (!direct) return
    await direct.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {})
    await direct.query(`DROP TABLE IF EXISTS ${MARIADB_OTHER_DATABASE}.${otherTable}`).catch(() => {})
    await direct.end()
    if (!closed) await gw.close()
  })

  it('fills in ? and :name placeholders (driver-side) and inserts through the gateway', async () => {
    const conn = connect({ url: gw.url() })
    const insert = await conn.execute(
      `INSERT INTO ${table} (name, n, big, price, at, doc, bin, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        'typed',
        42,
        '9007199254740993',
        '12.34',
        '2024-02-29 13:14:15',
        JSON.stringify({ a: [1, 2], b: 'ü' }),
        new Uint8Array([0, 1, 255]),
        null,
      ],
    )
    expect(insert.rowsAffected).toBe(1)
    expect(Number(insert.insertId)).toBeGreaterThan(0)

    const named = await conn.execute(`SELECT name, n FROM ${table} WHERE name = :name AND n = :n`, {
      name: 'typed',
      n: 42,
    })
    expect(named.statement).toBe(`SELECT name, n FROM ${table} WHERE name = 'typed' AND n = 42`)
    expect(named.rows).toEqual([{ name: 'typed', n: 42 }])
    expect(named.rows).toEqual(await viaMysql(named.statement))

    const positional = await new Client({ url: gw.url() }).execute('SELECT ? AS s, ? AS i, ? AS q', [
      "it's",
      7,
      'a"b\\c',
    ])
    expect(positional.rows).toEqual([{ s: "it's", i: 7, q: 'a"b\\c' }])
    expect(positional.rows).toEqual(await viaMysql(positional.statement))
  })

  it('decodes every type like PlanetScale does, matching mysql2 on the same SQL', async () => {
    const conn = connect({ url: gw.url() })
    const got = await conn.execute(`SELECT id, name, n, big, price, at, doc, bin, note FROM ${table} WHERE name = ?`, [
      'typed',
    ])
    const [row] = got.rows as Array<Record<string, unknown>>
    expect(row).toMatchObject({
      name: 'typed',
      n: 42,
      big: '9007199254740993',
      price: '12.34',
      at: '2024-02-29 13:14:15',
      doc: { a: [1, 2], b: 'ü' },
      bin: new Uint8Array([0, 1, 255]),
      note: null,
    })
    expect(typeof row?.id).toBe('string') // INT64 stays a string
    expect(row?.bin).toBeInstanceOf(Uint8Array)
    expect(got.types).toEqual({
      id: 'INT64',
      name: 'VARCHAR',
      n: 'INT32',
      big: 'INT64',
      price: 'DECIMAL',
      at: 'DATETIME',
      doc: 'JSON',
      bin: 'VARBINARY',
      note: 'TEXT',
    })
    expect(got.rows.map(plainBytes)).toEqual(await viaMysql(got.statement))

    const exprs = await conn.execute(
      'SELECT 9007199254740993 AS big, 1.50 AS d, 1.25e0 AS f, NULL AS nothing, ' +
        "CAST(18446744073709551615 AS UNSIGNED) AS u, 'ü' AS s, x'00ff' AS b, COUNT(*) AS c FROM dual",
    )
    expect(exprs.rows).toEqual([
      {
        big: '9007199254740993',
        d: '1.50',
        f: 1.25,
        nothing: null,
        u: '18446744073709551615',
        s: 'ü',
        b: new Uint8Array([0, 255]),
        c: '1',
      },
    ])
    expect(exprs.types).toMatchObject({
      big: 'INT64',
      d: 'DECIMAL',
      f: 'FLOAT64',
      nothing: 'NULL',
      u: 'UINT64',
      b: 'VARBINARY',
      c: 'INT64',
    })
    expect(exprs.rows.map(plainBytes)).toEqual(await viaMysql(exprs.statement))

    const arrays = await conn.execute('SELECT 1 AS a, 2 AS a', null, { as: 'array' })
    expect(arrays.rows).toEqual([[1, 2]])
  })

  it('commits a transaction() only at COMMIT, invisible to a second session before', async () => {
    const conn = connect({ url: gw.url() })
    const observer = connect({ url: gw.url() })
    const count = async (c: typeof conn, name: string) =>
      (await c.execute(`SELECT COUNT(*) AS c FROM ${table} WHERE name = ?`, [name])).rows[0]?.c
    gw.resetCounters()
    const result = await conn.transaction(async (tx) => {
      await tx.execute(`INSERT INTO ${table} (name, n) VALUES (?, ?)`, ['committed', 1])
      expect(gw.pinnedSessions()).toBe(1)
      expect((await tx.execute(`SELECT COUNT(*) AS c FROM ${table} WHERE name = ?`, ['committed'])).rows[0]?.c).toBe(
        '1',
      )
      expect(await count(observer, 'committed')).toBe('0')
      expect(await viaMysql(`SELECT name FROM ${table} WHERE name = 'committed'`)).toEqual([])
      return 'done'
    })
    expect(result).toBe('done')
    expect(gw.roundTrips).toBe(5) // BEGIN, INSERT, SELECT, the observer's SELECT, COMMIT
    expect(gw.pinnedSessions()).toBe(0)
    expect(await count(observer, 'committed')).toBe('1')
    expect(await viaMysql(`SELECT name FROM ${table} WHERE name = 'committed'`)).toEqual([{ name: 'committed' }])
  })

  it('rolls a transaction() back when its callback throws', async () => {
    const conn = connect({ url: gw.url() })
    await expect(
      conn.transaction(async (tx) => {
        await tx.execute(`INSERT INTO ${table} (name) VALUES (?)`, ['rolled-back'])
        expect(await viaMysql(`SELECT name FROM ${table} WHERE name = 'rolled-back'`)).toEqual([])
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(gw.pinnedSessions()).toBe(0)
    const after = await conn.execute(`SELECT name FROM ${table} WHERE name = ?`, ['rolled-back'])
    expect(after.rows).toEqual([])
    expect(after.rows).toEqual(await viaMysql(after.statement))
  })

  it('keeps USE on the session that issued it, and only there', async () => {
    const switched = connect({ url: gw.url() })
    const stay = connect({ url: gw.url() })
    await switched.execute(`USE ${MARIADB_OTHER_DATABASE}`)
    for (let i = 0; i < 3; i++) {
      // interleaved, so both sessions borrow the same pool connections
      expect((await switched.execute('SELECT DATABASE() AS db')).rows).toEqual([{ db: MARIADB_OTHER_DATABASE }])
      expect((await stay.execute('SELECT DATABASE() AS db')).rows).toEqual([{ db: 'lazydb_test' }])
    }
    const other = await switched.execute(`SELECT v FROM ${otherTable}`)
    expect(other.rows).toEqual([{ v: 'elsewhere' }])
    expect(other.rows).toEqual(await viaMysql(`SELECT v FROM ${MARIADB_OTHER_DATABASE}.${otherTable}`))
    await switched.execute('USE lazydb_test')
    expect((await switched.execute('SELECT DATABASE() AS db')).rows).toEqual([{ db: 'lazydb_test' }])
  })

  it('surfaces a duplicate key as DatabaseError (errno 1062, sqlstate 23000)', async () => {
    const conn = connect({ url: gw.url() })
    const sql = `INSERT INTO ${table} (name) VALUES ('typed')`
    const err = await conn.execute(sql).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatabaseError)
    const dbErr = err as DatabaseError
    expect(dbErr.status).toBe(400)
    expect(dbErr.body.code).toBe('ALREADY_EXISTS')
    expect(dbErr.message).toMatch(
      new RegExp(
        /^target: lazydb_test\.-\.primary: vttablet: rpc error: code = AlreadyExists desc = /.source +
          /Duplicate entry 'typed' for key 'name' \(errno 1062\) \(sqlstate 23000\) /.source +
          /\(CallerID: lazydb\): Sql: "/.source,
      ),
    )
    await expect(direct.query(sql)).rejects.toMatchObject({ errno: 1062, sqlState: '23000' })
  })

  it('surfaces a syntax error as DatabaseError (errno 1064, sqlstate 42000)', async () => {
    const err = await new Client({ url: gw.url() }).execute('SELEC 1').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as DatabaseError).body.code).toBe('INVALID_ARGUMENT')
    expect((err as DatabaseError).message).toMatch(
      /code = InvalidArgument desc = You have an error in your SQL syntax.* \(errno 1064\) \(sqlstate 42000\)/,
    )
    await expect(direct.query('SELEC 1')).rejects.toMatchObject({ errno: 1064, sqlState: '42000' })
  })

  it('rejects wrong credentials with a 401 DatabaseError', async () => {
    for (const url of [gw.url('lazydb', 'wrong-password'), gw.url('nobody', 'lazydb-test-pw')]) {
      const err = await connect({ url })
        .execute('SELECT 1')
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DatabaseError)
      expect((err as DatabaseError).status).toBe(401)
      expect((err as DatabaseError).body.code).toBe('unauthenticated')
    }
  })

  it('answers CreateSession (refresh) and carries the session between calls', async () => {
    const conn = connect({ url: gw.url() })
    await conn.refresh()
    expect((await conn.execute('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
  })

  it('fails COMMIT after the server connection of a transaction is killed', async () => {
    const conn = connect({ url: gw.url() })
    const err = await conn
      .transaction(async (tx) => {
        await tx.execute(`INSERT INTO ${table} (name) VALUES (?)`, ['lost'])
        expect(await gw.killServerConnections('pinned')).toBe(1)
      })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as DatabaseError).body.code).toBe('ABORTED')
    expect(gw.pinnedSessions()).toBe(0)
    expect(await viaMysql(`SELECT name FROM ${table} WHERE name = 'lost'`)).toEqual([])
    // outside transactions a dead pool connection is replaced transparently
    await gw.killServerConnections('pool')
    expect((await conn.execute('SELECT 2 AS two')).rows).toEqual([{ two: 2 }])
  })

  it('adds delayMs to each round trip', async () => {
    const slow = await startPlanetscaleGateway({ delayMs: 100 })
    try {
      const started = performance.now()
      await connect({ url: slow.url() }).execute('SELECT 1')
      expect(performance.now() - started).toBeGreaterThanOrEqual(95)
      expect(slow.roundTrips).toBe(1)
    } finally {
      await slow.close()
    }
  })

  it('leaves no server connection behind once closed', async () => {
    expect(gw.openMysqlConnections()).toBeGreaterThan(0)
    await gw.close()
    closed = true
    expect(gw.openMysqlConnections()).toBe(0)
    // `direct` (one connection) is still open; it closes in afterAll
    expect(await poll(async () => (await mariadbConnectionCount()) <= baseline + 1)).toBe(true)
  })
})
