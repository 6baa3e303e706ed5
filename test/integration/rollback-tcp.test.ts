// Rollback test mode over the TCP drivers, against the real servers: statements, a transaction (a
// savepoint inside the scope) and, on pg, client() (a Pool-shaped object on the scope's session) all
// land in the scope and are gone after it; postgres.js and mysql2 refuse client() in a scope, clearly.
import { drizzle } from 'drizzle-orm/node-postgres'
import type { Pool } from 'pg'
import { sql } from 'drizzle-orm'
import { afterAll, describe, expect, it } from 'vitest'
import { type Database, Registry, startRollback } from '@lazydb/core'
import { mysql2 } from '@lazydb/core/mysql2'
import { pg } from '@lazydb/core/pg'
import { postgres } from '@lazydb/core/postgres'
import { MARIADB_CREDENTIALS, requireMariadb, setupMariadb } from '../support/mariadb.js'
import { PG_URL, requirePostgres } from '../support/postgres.js'

const pgUp = await requirePostgres()
const myUp = await requireMariadb()
const { user, password, host, port, database } = MARIADB_CREDENTIALS
const TABLE = `lazydb_rb_tcp_${process.pid}`
const registries: Registry[] = []
afterAll(async () => {
  for (const r of registries) {
    await r.database.query(`drop table if exists ${TABLE}`).catch(() => undefined)
    await r.disconnect({ force: true })
  }
})

const targets: [string, boolean, () => Database<unknown>][] = [
  ['pg', pgUp, () => pg(PG_URL)],
  ['postgres', pgUp, () => postgres(PG_URL)],
  ['mysql2', myUp, () => mysql2(`mysql://${user}:${password}@${host}:${port}/${database}`)],
]

for (const [name, up, make] of targets) {
  describe.skipIf(!up)(`rollback scope on ${name}`, () => {
    it('statements, a committed transaction and a failed one are all gone when the scope ends', async () => {
      if (name === 'mysql2') await setupMariadb()
      const registry = new Registry({ database: make(), warn: false })
      registries.push(registry)
      const db = registry.database
      await db.query(`drop table if exists ${TABLE}`)
      await db.query(`create table ${TABLE} (v int)`)
      await db.query(`insert into ${TABLE} values (1)`)
      const scope = startRollback(registry)
      try {
        await db.query(`insert into ${TABLE} values (2)`)
        await db.transaction(async (tx) => {
          await tx.query(`insert into ${TABLE} values (3)`)
        })
        const failed = await db
          .transaction(async (tx) => {
            await tx.query(`insert into ${TABLE} values (4)`)
            throw new Error('fn throws')
          })
          .catch((e: Error) => e.message)
        expect(failed).toBe('fn throws')
        const inside = await db.query(`select v from ${TABLE} order by v`)
        expect(inside.rows.map((r) => Number(r.v))).toEqual([1, 2, 3])
        if (name === 'pg') {
          const orm = drizzle(await (db as Database<Pool>).client()) // pg(url) types it so; the list here does not
          await orm.execute(sql.raw(`insert into ${TABLE} values (5)`))
          expect((await db.query(`select count(*) as n from ${TABLE}`)).rows[0]).toEqual({ n: '4' })
        } else {
          expect(await db.client().catch((e: { code?: string }) => e.code)).toBe('TRANSACTION_UNSUPPORTED')
        }
      } finally {
        await scope.end()
      }
      const after = await db.query(`select v from ${TABLE}`)
      expect(after.rows.map((r) => Number(r.v))).toEqual([1])
    })
  })
}
