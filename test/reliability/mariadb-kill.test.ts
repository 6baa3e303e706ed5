// MariaDB connections killed (KILL CONNECTION) between invocations, behind the PlanetScale gateway:
// lazydb's planetscale driver (unmodified @planetscale/database over HTTP) keeps no socket of its
// own, so what must hold is that no invocation fails while the server side keeps losing connections.
// Also: the gateway keeps SET TRANSACTION for the transaction it precedes, as Vitess does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type mysql from 'mysql2/promise'
import { handler, Registry, type Database } from '@lazydb/core'
import { planetscale } from '@lazydb/core/planetscale'
import {
  MARIADB_CREDENTIALS,
  mariadbConnectionCount,
  mysqlDirect,
  requireMariadb,
  setupMariadb,
  ensureMariadbUser,
} from '../support/mariadb.js'
import { startPlanetscaleGateway, type PlanetscaleGateway } from '../support/planetscale-gateway.js'

const hasMariadb = await requireMariadb()

// A MariaDB user of this file's own, so its server connections can be counted while other test
// files use the shared `lazydb` user.
const USER = 'lazydb_reliability'
const PASSWORD = 'reliability-pw-7310'
const TABLE = `lazydb_rel_kill_${process.pid}`

async function ensureUser(): Promise<void> {
  await setupMariadb()
  await ensureMariadbUser(USER, PASSWORD, [MARIADB_CREDENTIALS.database])
}

describe.skipIf(!hasMariadb)('MariaDB connections killed between invocations (PlanetScale gateway)', () => {
  let gateway: PlanetscaleGateway
  let registry: Registry
  let db: Database
  let direct: mysql.Connection
  let closed = false

  beforeAll(async () => {
    await ensureUser()
    gateway = await startPlanetscaleGateway({
      mysql: { host: '127.0.0.1', port: 3306, user: USER, password: PASSWORD, database: MARIADB_CREDENTIALS.database },
    })
    registry = new Registry({ database: planetscale(gateway.url()), platform: 'node', warn: false })
    db = registry.database
    direct = await mysqlDirect()
    await direct.query(`drop table if exists ${TABLE}`)
    await direct.query(`create table ${TABLE} (id int auto_increment primary key, name varchar(64) not null)`)
  })
  afterAll(async () => {
    await direct?.query(`drop table if exists ${TABLE}`)
    await direct?.end()
    await registry?.disconnect()
    if (!closed) await gateway?.close()
  })

  const count = async (q: { query: Database['query'] }, like: string) =>
    Number((await q.query<{ n: string }>(`select count(*) as n from ${TABLE} where name like ?`, [like])).rows[0]!.n)

  it('60 invocations, every server connection killed before each: 0 failed invocations', async () => {
    // Each invocation does one of: a plain read, a write, a transaction (with an isolation level),
    // a batch; every server connection the gateway holds is killed before it.
    const invoke = handler(registry, async (i: number) => {
      switch (i % 4) {
        case 0:
          return (await db.query<{ one: number }>('select 1 as one')).rows[0]!.one
        case 1:
          return (await db.query(`insert into ${TABLE} (name) values (?)`, [`w-${i}`])).rowCount
        case 2:
          return db.transaction(
            async (tx) => {
              await tx.query(`insert into ${TABLE} (name) values (?)`, [`tx-${i}`])
              return count(tx, `tx-${i}`)
            },
            { isolationLevel: 'read committed' },
          )
        default:
          return (
            await db.batch([
              { text: `insert into ${TABLE} (name) values (?)`, params: [`b-${i}`] },
              { text: 'select 1 as one' },
            ])
          ).length
      }
    })
    await invoke(0)
    const failures: unknown[] = []
    let killed = 0
    for (let i = 1; i <= 60; i++) {
      killed += await gateway.killServerConnections('all')
      const result = await invoke(i).catch((e: unknown) => (failures.push({ i, error: String(e) }), undefined))
      if (result !== undefined) expect(result).toBe(i % 4 === 2 ? 1 : i % 4 === 3 ? 2 : 1)
    }
    console.log(
      `[mariadb kill] 60 invocations: failed ${failures.length}; server connections killed ${killed}; ` +
        `gateway connections open now ${gateway.openMysqlConnections()}`,
    )
    expect(failures).toEqual([])
    expect(killed).toBeGreaterThanOrEqual(60)
    // Every write landed exactly once.
    const [rows] = await direct.query(`select name from ${TABLE} order by id`)
    const names = (rows as { name: string }[]).map((r) => r.name)
    const expected = Array.from({ length: 60 }, (_, k) => k + 1)
      .filter((i) => i % 4 !== 0)
      .map((i) => `${['', 'w', 'tx', 'b'][i % 4]}-${i}`)
    expect(names).toEqual(expected)
    expect(registry.stats().databases.default).toMatchObject({ errors: 0 })
    expect(gateway.pinnedSessions()).toBe(0)
  })

  it(
    'SET TRANSACTION applies to the transaction it precedes, never to another session, ' + 'while other requests run',
    async () => {
      // Between the driver's SET TRANSACTION and BEGIN other requests borrow the gateway's pooled
      // connections: unpinned, the setting would go back to the pool with its connection, and BEGIN
      // could run on another one.
      async function seesConcurrentCommit(
        name: string,
        options?: Parameters<Database['transaction']>[1],
      ): Promise<boolean> {
        const [before, after] = await db.transaction(async (tx) => {
          const first = await count(tx, `${name}%`) // takes the snapshot
          await direct.query(`insert into ${TABLE} (name) values (?)`, [`${name}-1`])
          return [first, await count(tx, `${name}%`)]
        }, options)
        return after !== before
      }
      let busy = true
      const noise = Array.from({ length: 8 }, async () => {
        while (busy) await db.query('select 1')
      })
      try {
        const outcomes = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            i % 2 === 0
              ? seesConcurrentCommit(`rc-${i}`, { isolationLevel: 'read committed' })
              : seesConcurrentCommit(`rr-${i}`),
          ),
        )
        // READ COMMITTED sees the row another session committed meanwhile; the default (REPEATABLE READ) does not.
        expect(outcomes).toEqual(Array.from({ length: 12 }, (_, i) => i % 2 === 0))
      } finally {
        busy = false
        await Promise.all(noise)
      }
      expect(gateway.pinnedSessions()).toBe(0)
    },
  )

  it('leaves no server connection behind once the gateway is closed', async () => {
    await registry.disconnect()
    await gateway.close()
    closed = true
    expect(gateway.openMysqlConnections()).toBe(0)
    let left = await mariadbConnectionCount(USER)
    for (let i = 0; i < 50 && left > 0; i++) {
      await new Promise((r) => setTimeout(r, 20))
      left = await mariadbConnectionCount(USER)
    }
    expect(left).toBe(0)
  })
})
