// The fleet reaper on the mysql2 driver, against the real MariaDB through a user capped with
// MAX_USER_CONNECTIONS (no server restart): idle connections of "frozen instances" fill the cap; a live
// lazydb instance with the reaper KILLs them (by user: MariaDB lists no connection attributes without
// performance_schema), and the server ends an idle connection past serverIdleMs (wait_timeout) itself.
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Registry } from '@lazydb/core'
import { mysql2 } from '@lazydb/core/mysql2'
import { ensureMariadbUser, rootConnection, requireMariadb, setupMariadb } from '../support/mariadb.js'

const up = await requireMariadb()
const USER = `lz_reap_${process.pid}`.slice(0, 32)
const PASSWORD = 'reap-pw-6174'
const CAP = 5
const URL = `mysql://${USER}:${PASSWORD}@127.0.0.1:3306/lazydb_test`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function asRoot<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const root = await rootConnection()
  try {
    return (await root.query(sql, params))[0] as T[]
  } finally {
    await root.end()
  }
}
const connections = async () =>
  Number(
    (await asRoot<{ n: number }>('select count(*) as n from information_schema.processlist where USER = ?', [USER]))[0]!
      .n,
  )

async function settled(n: number): Promise<number> {
  const deadline = Date.now() + 3000
  let count = await connections()
  while (count !== n && Date.now() < deadline) {
    await sleep(25)
    count = await connections()
  }
  return count
}

const left: mysql.Connection[] = []
async function frozenConnection(): Promise<void> {
  const connection = await mysql.createConnection(URL)
  connection.on('error', () => {}) // the reaper ends it
  await connection.query('select 1')
  left.push(connection)
}
const endLeft = () => Promise.all(left.splice(0).map((c) => c.end().catch(() => undefined)))

describe.skipIf(!up)('mysql2 fleet reaper', () => {
  beforeAll(async () => {
    await setupMariadb()
    await ensureMariadbUser(USER, PASSWORD)
    for (const host of ['127.0.0.1', 'localhost']) {
      // PROCESS lets the reaper see which connections are inside a transaction (information_schema.INNODB_TRX).
      await asRoot(`GRANT PROCESS ON *.* TO ?@? WITH MAX_USER_CONNECTIONS ${CAP}`, [USER, host])
    }
  })
  afterAll(async () => {
    await endLeft()
    for (const row of await asRoot<{ id: number }>(
      'select ID as id from information_schema.processlist where USER = ?',
      [USER],
    ))
      await asRoot(`KILL ${Number(row.id)}`).catch(() => undefined)
  })

  it('without the reaper, idle connections of frozen instances fill the cap: a new instance is refused', async () => {
    for (let i = 0; i < CAP; i++) await frozenConnection()
    const registry = new Registry({
      database: mysql2(URL),
      retry: { attempts: 2, totalMs: 300 },
      platform: 'aws-lambda',
      warn: false,
    })
    const error = await registry.database.query('select 1').catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', errno: 1226 }) // ER_USER_LIMIT_REACHED
    await registry.disconnect({ force: true })
    await endLeft()
    expect(await settled(0)).toBe(0)
  })

  it('near the cap, a live instance KILLs its user idle connections, never one inside a transaction', async () => {
    const table = `lz_reap_t_${process.pid}`
    await asRoot(`create table if not exists lazydb_test.${table} (v int)`)
    await frozenConnection()
    await frozenConnection()
    // A frozen instance in the middle of a transaction: MySQL lists it as Sleep too (found by the outside review).
    const inTransaction = await mysql.createConnection(URL)
    inTransaction.on('error', () => {})
    await inTransaction.query('start transaction')
    await inTransaction.query(`insert into ${table} values (1)`)
    await sleep(1100) // asleep for a whole second: the server counts TIME in seconds
    const registry = new Registry({
      database: mysql2(URL, { reaper: { idleMs: 1000, everyMs: 0 } }),
      platform: 'aws-lambda',
      warn: false,
    })
    try {
      // Ours plus 3 asleep make 4 of 5 (0.8): the reaper ends the 2 idle ones and leaves the transaction.
      expect((await registry.database.query('select 1 as one')).rows).toEqual([{ one: 1 }])
      expect(await settled(2)).toBe(2)
      await inTransaction.query('commit')
      const [rows] = await inTransaction.query(`select count(*) as n from ${table}`)
      expect(Number((rows as { n: number }[])[0]!.n)).toBe(1)
    } finally {
      await inTransaction.end().catch(() => undefined)
      await registry.disconnect()
      await endLeft()
      await asRoot(`drop table if exists lazydb_test.${table}`)
    }
  })

  it('the server ends a connection idle past serverIdleMs itself; the next statement runs on a new one', async () => {
    const registry = new Registry({
      database: mysql2(URL, { reaper: { serverIdleMs: 1000 } }),
      platform: 'aws-lambda',
      warn: false,
    })
    const first = (await registry.database.query<{ id: unknown }>('select connection_id() as id')).rows[0]!.id
    const deadline = Date.now() + 5000
    while ((await connections()) > 0 && Date.now() < deadline) await sleep(100)
    expect(await connections()).toBe(0)
    const second = (await registry.database.query<{ id: unknown }>('select connection_id() as id')).rows[0]!.id
    expect(second).not.toBe(first)
    expect(registry.stats().databases.default).toMatchObject({ errors: 0 })
    await registry.disconnect()
  })
})
