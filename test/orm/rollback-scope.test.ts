// Rollback test mode as a user's own test suite uses it: the README's beforeEach/afterEach pattern
// around 50 tests that write to PostgreSQL (neon-ws through the local gateway) and to libSQL (an
// embedded file) in every way lazydb offers: statements, templates, batches, transactions (committed,
// thrown, nested), handler() invocations, and Drizzle on client(). After each test, and after all of
// them, an independent client (pg straight to PostgreSQL; a second libSQL client on the file) finds every
// table exactly as it was seeded, and no table a test created is left.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import pg from 'pg'
import { createClient } from '@libsql/client'
import { eq } from 'drizzle-orm'
import { drizzle as drizzlePg } from 'drizzle-orm/neon-serverless'
import { drizzle as drizzleLibsql } from 'drizzle-orm/libsql'
import { integer as pgInteger, pgTable, serial, text as pgText } from 'drizzle-orm/pg-core'
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { handler, Registry, type Database, type Params } from '@lazydb/core'
import { startRollback, type RollbackScope } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { libsql } from '@lazydb/core/libsql'
import { PG_URL, requirePostgres } from '../support/postgres.js'
import { libsqlFile, startNeon, unique, within } from './support.js'

const pgUp = await requirePostgres()
const TABLE = unique('rollback_notes')
const APP = unique('rollback-scope')
const SEED = ['alpha', 'beta', 'gamma']

const backend = await startNeon()
const file = libsqlFile()
const registry = new Registry({
  database: neon(backend.url(APP), { transport: 'ws', ...backend.ws }),
  extra: { local: libsql(file.url) },
  warn: false,
})

const pgNotes = pgTable(TABLE, {
  id: serial('id').primaryKey(),
  body: pgText('body').notNull().unique(),
  n: pgInteger('n').notNull().default(0),
})
const liteNotes = sqliteTable(TABLE, {
  id: integer('id').primaryKey({ autoIncrement: true }),
  body: text('body').notNull().unique(),
  n: integer('n').notNull().default(0),
})

/** What a test needs to know of one database: how to reach it through lazydb, and its SQL dialect. */
interface Side {
  name: 'postgres' | 'libsql'
  db: () => Database
  p: (n: number) => string
  /** An independent client's view: every row of the table, and whether `table` exists. */
  snapshot: () => Promise<string[]>
  exists: (table: string) => Promise<boolean>
  /** Drizzle on client() inside the scope: insert, update, transactions. */
  orm: () => Promise<{
    insert(body: string): Promise<unknown>
    setN(body: string, n: number): Promise<unknown>
    transaction(fn: (insert: (body: string) => Promise<unknown>) => Promise<void>): Promise<void>
    bodies(): Promise<string[]>
  }>
}

const pgDirect = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 })
const liteDirect = createClient({ url: file.url })

const postgres: Side = {
  name: 'postgres',
  db: () => registry.database,
  p: (n) => `$${n}`,
  snapshot: async () =>
    (await pgDirect.query(`select id, body, n from ${TABLE} order by id`)).rows.map((r) => `${r.id}:${r.body}:${r.n}`),
  exists: async (table) => (await pgDirect.query('select to_regclass($1) as t', [table])).rows[0].t !== null,
  orm: async () => {
    const db = drizzlePg(await registry.database.client())
    return {
      insert: (body) => db.insert(pgNotes).values({ body }),
      setN: (body, n) => db.update(pgNotes).set({ n }).where(eq(pgNotes.body, body)),
      transaction: (fn) => db.transaction((tx) => fn((body) => tx.insert(pgNotes).values({ body }))),
      bodies: async () => (await db.select().from(pgNotes).orderBy(pgNotes.id)).map((r) => r.body),
    }
  },
}

const sqlite: Side = {
  name: 'libsql',
  db: () => registry.using('local'),
  p: () => '?',
  snapshot: async () =>
    (await liteDirect.execute(`select id, body, n from ${TABLE} order by id`)).rows.map(
      (r) => `${r.id}:${r.body}:${r.n}`,
    ),
  exists: async (table) =>
    (await liteDirect.execute({ sql: 'select name from sqlite_master where name = ?', args: [table] })).rows.length > 0,
  orm: async () => {
    const db = drizzleLibsql(await registry.using('local').client())
    return {
      insert: (body) => db.insert(liteNotes).values({ body }),
      setN: (body, n) => db.update(liteNotes).set({ n }).where(eq(liteNotes.body, body)),
      transaction: (fn) => db.transaction((tx) => fn((body) => tx.insert(liteNotes).values({ body }))),
      bodies: async () => (await db.select().from(liteNotes).orderBy(liteNotes.id)).map((r) => r.body),
    }
  },
}

const seeded: Record<string, string[]> = {}

beforeAll(async () => {
  if (!pgUp) return
  await within(pgDirect.connect(), 5000, 'pg connect')
  await pgDirect.query(`drop table if exists ${TABLE}`)
  await pgDirect.query(
    `create table ${TABLE} (id serial primary key, body text not null unique, n int not null default 0)`,
  )
  await liteDirect.execute(
    `create table ${TABLE} (id integer primary key autoincrement, body text not null unique, n int not null default 0)`,
  )
  for (const body of SEED) {
    await pgDirect.query(`insert into ${TABLE}(body) values ($1)`, [body])
    await liteDirect.execute({ sql: `insert into ${TABLE}(body) values (?)`, args: [body] })
  }
  seeded.postgres = await postgres.snapshot()
  seeded.libsql = await sqlite.snapshot()
})

afterAll(async () => {
  if (pgUp) {
    // Nothing any test wrote survived, and the tables they created are gone.
    expect(await postgres.snapshot()).toEqual(seeded.postgres)
    expect(await sqlite.snapshot()).toEqual(seeded.libsql)
    for (const side of [postgres, sqlite]) expect(await side.exists(`${TABLE}_made`)).toBe(false)
    await pgDirect.query(`drop table if exists ${TABLE}`)
    await pgDirect.end()
  }
  liteDirect.close()
  await registry.disconnect({ force: true })
  await backend.close()
  file.remove()
})

// Runs after the README's afterEach below (vitest runs after-hooks in reverse): the scope has ended.
afterEach(async () => {
  if (!pgUp) return
  expect(await postgres.snapshot()).toEqual(seeded.postgres)
  expect(await sqlite.snapshot()).toEqual(seeded.libsql)
  // Through lazydb too, now outside any scope: the warm clients are back to plain statements.
  expect((await registry.database.query(`select count(*)::int as c from ${TABLE}`)).rows[0]).toEqual({ c: 3 })
  expect((await registry.using('local').query(`select count(*) as c from ${TABLE}`)).rows[0]?.c).toBe(3)
})

let scope: RollbackScope
beforeEach(() => {
  scope = startRollback(registry)
})
afterEach(() => scope.end())

const bodiesIn = async (side: Side) =>
  (await side.db().query<{ body: string }>(`select body from ${TABLE} order by id`)).rows.map((r) => r.body)

const insert = (side: Side, body: string) =>
  side.db().query(`insert into ${TABLE}(body) values (${side.p(1)})`, [body] as Params)

for (const side of [postgres, sqlite]) {
  describe.skipIf(!pgUp)(`rollback scope on ${side.name}`, () => {
    it('query: an insert is seen inside the scope', async () => {
      await insert(side, 'q1')
      expect(await bodiesIn(side)).toEqual([...SEED, 'q1'])
    })

    it('sql template: an insert', async () => {
      const raw = [`insert into ${TABLE}(body) values (`, ')']
      const strings = Object.assign([...raw], { raw }) as unknown as TemplateStringsArray
      await side.db().sql(strings, 'tpl')
      expect(await bodiesIn(side)).toEqual([...SEED, 'tpl'])
    })

    it('a committed transaction is invisible to an independent client while the scope is open', async () => {
      await side.db().transaction(async (tx) => {
        await tx.query(`insert into ${TABLE}(body) values (${side.p(1)})`, ['unseen'])
      })
      expect(await bodiesIn(side)).toContain('unseen')
      expect(await side.snapshot()).toEqual(seeded[side.name])
    })

    it('update of a seeded row', async () => {
      await side.db().query(`update ${TABLE} set n = 42 where body = ${side.p(1)}`, ['beta'])
      const { rows } = await side
        .db()
        .query<{ n: number }>(`select n from ${TABLE} where body = ${side.p(1)}`, ['beta'])
      expect(Number(rows[0]?.n)).toBe(42)
    })

    it('delete of a seeded row', async () => {
      await side.db().query(`delete from ${TABLE} where body = ${side.p(1)}`, ['alpha'])
      expect(await bodiesIn(side)).toEqual(['beta', 'gamma'])
    })

    it('delete of every row', async () => {
      await side.db().query(`delete from ${TABLE}`)
      expect(await bodiesIn(side)).toEqual([])
    })

    it('batch: two inserts and a read, atomically', async () => {
      const p = side.p(1)
      const results = await side
        .db()
        .batch([
          { text: `insert into ${TABLE}(body) values (${p})`, params: ['b1'] },
          { text: `insert into ${TABLE}(body) values (${p})`, params: ['b2'] },
          { text: `select count(*) as c from ${TABLE}` },
        ])
      expect(Number(results[2]?.rows[0]?.c)).toBe(5)
    })

    it('batch that fails half-way leaves nothing of itself', async () => {
      const p = side.p(1)
      const failed = side.db().batch([
        { text: `insert into ${TABLE}(body) values (${p})`, params: ['half'] },
        { text: `insert into ${TABLE}(body) values (${p})`, params: ['alpha'] }, // unique violation
      ])
      await expect(failed).rejects.toMatchObject({ code: 'QUERY_FAILED' })
      expect(await bodiesIn(side)).toEqual(SEED)
    })

    it('a failing statement does not spoil the scope (a unique violation, then more writes)', async () => {
      await expect(insert(side, 'alpha')).rejects.toMatchObject({ code: 'QUERY_FAILED' })
      await insert(side, 'after-error')
      expect(await bodiesIn(side)).toEqual([...SEED, 'after-error'])
    })

    it('transaction that commits: seen inside the scope, rolled back at its end', async () => {
      await side.db().transaction(async (tx) => {
        await tx.query(`insert into ${TABLE}(body) values (${side.p(1)})`, ['committed'])
      })
      expect(await bodiesIn(side)).toContain('committed')
    })

    it('transaction that throws rolls back only itself', async () => {
      await insert(side, 'kept')
      const boom = new Error('boom')
      await expect(
        side.db().transaction(async (tx) => {
          await tx.query(`insert into ${TABLE}(body) values (${side.p(1)})`, ['thrown'])
          throw boom
        }),
      ).rejects.toBe(boom)
      expect(await bodiesIn(side)).toEqual([...SEED, 'kept'])
    })

    it('nested transaction() that throws rolls back only its savepoint', async () => {
      const db = side.db()
      await db.transaction(async (tx) => {
        await tx.query(`insert into ${TABLE}(body) values (${side.p(1)})`, ['outer'])
        await expect(
          db.transaction(async (inner) => {
            await inner.query(`insert into ${TABLE}(body) values (${side.p(1)})`, ['inner'])
            throw new Error('inner fails')
          }),
        ).rejects.toThrow('inner fails')
        await tx.query(`insert into ${TABLE}(body) values (${side.p(1)})`, ['outer-2'])
      })
      expect(await bodiesIn(side)).toEqual([...SEED, 'outer', 'outer-2'])
    })

    it('nested transaction() that commits inside one that throws: both gone', async () => {
      const db = side.db()
      await expect(
        db.transaction(async (tx) => {
          await db.transaction(async (inner) => {
            await inner.query(`insert into ${TABLE}(body) values (${side.p(1)})`, ['inner-ok'])
          })
          await tx.query(`update ${TABLE} set n = 7`)
          throw new Error('outer fails')
        }),
      ).rejects.toThrow('outer fails')
      expect(await bodiesIn(side)).toEqual(SEED)
      expect((await side.db().query(`select max(n) as m from ${TABLE}`)).rows[0]?.m).toBe(0)
    })

    it('db.query inside a transaction fn runs in it, without waiting for it (no deadlock)', async () => {
      const db = side.db()
      await db.transaction(async (tx) => {
        await db.query(`insert into ${TABLE}(body) values (${side.p(1)})`, ['via-db'])
        await tx.query(`insert into ${TABLE}(body) values (${side.p(1)})`, ['via-tx'])
      })
      expect(await bodiesIn(side)).toEqual([...SEED, 'via-db', 'via-tx'])
    })

    it('concurrent statements serialise on the one session', async () => {
      const bodies = Array.from({ length: 12 }, (_, i) => `c${i}`)
      await Promise.all(bodies.map((b) => insert(side, b)))
      expect((await bodiesIn(side)).sort()).toEqual([...SEED, ...bodies].sort())
    })

    it('concurrent transactions each keep their own savepoint (one fails, one commits)', async () => {
      const db = side.db()
      const slow = db.transaction(async (tx) => {
        await tx.query(`insert into ${TABLE}(body) values (${side.p(1)})`, ['slow'])
        await new Promise((r) => setTimeout(r, 30))
        throw new Error('slow fails')
      })
      const fast = db.transaction(async (tx) => {
        await tx.query(`insert into ${TABLE}(body) values (${side.p(1)})`, ['fast'])
      })
      await expect(slow).rejects.toThrow('slow fails')
      await fast
      expect(await bodiesIn(side)).toEqual([...SEED, 'fast'])
    })

    it('a statement from outside waits for an open transaction, then runs after it', async () => {
      const db = side.db()
      const order: string[] = []
      let opened!: () => void
      const isOpen = new Promise<void>((r) => (opened = r))
      const tx = db.transaction(async (t) => {
        await t.query(`insert into ${TABLE}(body) values (${side.p(1)})`, ['in-tx'])
        opened()
        await new Promise((r) => setTimeout(r, 30))
        order.push('tx-end')
      })
      await isOpen
      await insert(side, 'outside').then(() => order.push('outside'))
      await tx
      expect(order).toEqual(['tx-end', 'outside'])
      expect(await bodiesIn(side)).toEqual([...SEED, 'in-tx', 'outside'])
    })

    it('handler(): an invocation writes', async () => {
      const add = handler(registry, async (body: string) => insert(side, body))
      await add('from-handler')
      expect(await bodiesIn(side)).toContain('from-handler')
    })

    it('handler(): a transaction committed inside an invocation', async () => {
      const add = handler(registry, async (body: string) =>
        side.db().transaction(async (tx) => {
          await tx.query(`insert into ${TABLE}(body) values (${side.p(1)})`, [body])
          await tx.query(`update ${TABLE} set n = n + 1 where body = ${side.p(1)}`, [body])
        }),
      )
      await Promise.all([add('h1'), add('h2'), add('h3')])
      expect((await bodiesIn(side)).sort()).toEqual([...SEED, 'h1', 'h2', 'h3'].sort())
    })

    it('handler(): an invocation that fails keeps what it wrote outside its transaction', async () => {
      const run = handler(registry, async () => {
        await insert(side, 'before-fail')
        await side.db().transaction(async (tx) => {
          await tx.query(`insert into ${TABLE}(body) values (${side.p(1)})`, ['in-failed-tx'])
          throw new Error('handler fails')
        })
      })
      await expect(run()).rejects.toThrow('handler fails')
      expect(await bodiesIn(side)).toEqual([...SEED, 'before-fail'])
    })

    it('Drizzle on client(): insert and update', async () => {
      const orm = await side.orm()
      await orm.insert('drizzle-1')
      await orm.setN('gamma', 9)
      expect(await orm.bodies()).toEqual([...SEED, 'drizzle-1'])
      const { rows } = await side
        .db()
        .query<{ n: number }>(`select n from ${TABLE} where body = ${side.p(1)}`, ['gamma'])
      expect(Number(rows[0]?.n)).toBe(9)
    })

    it('Drizzle on client(): a transaction that commits (a savepoint, not a COMMIT)', async () => {
      const orm = await side.orm()
      await orm.transaction(async (add) => {
        await add('drizzle-tx-1')
        await add('drizzle-tx-2')
      })
      expect(await bodiesIn(side)).toEqual([...SEED, 'drizzle-tx-1', 'drizzle-tx-2'])
    })

    it('Drizzle on client(): a transaction that throws rolls back only itself', async () => {
      const orm = await side.orm()
      await orm.insert('drizzle-kept')
      await expect(
        orm.transaction(async (add) => {
          await add('drizzle-gone')
          throw new Error('drizzle fails')
        }),
      ).rejects.toThrow('drizzle fails')
      expect(await orm.bodies()).toEqual([...SEED, 'drizzle-kept'])
    })

    it('Drizzle: concurrent transactions from two invocations each keep their own savepoint', async () => {
      const run = handler(registry, async (body: string, fail: boolean) =>
        (await side.orm()).transaction(async (add) => {
          await add(body)
          await new Promise((r) => setTimeout(r, 20))
          if (fail) throw new Error(`${body} fails`)
        }),
      )
      const results = await Promise.allSettled([run('orm-fails', true), run('orm-commits', false)])
      expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled'])
      expect(await bodiesIn(side)).toEqual([...SEED, 'orm-commits'])
    })

    it('Drizzle: a failing insert (a unique violation) does not spoil the scope', async () => {
      const orm = await side.orm()
      await expect(orm.insert('alpha')).rejects.toThrow()
      await orm.insert('after-orm-error')
      expect(await orm.bodies()).toEqual([...SEED, 'after-orm-error'])
    })

    it('Drizzle inside a handler(): client() in an invocation is the scope session', async () => {
      const add = handler(registry, async (body: string) => (await side.orm()).insert(body))
      await add('drizzle-handler')
      expect(await bodiesIn(side)).toContain('drizzle-handler')
    })

    it('DDL: a table created in the scope is gone after it', async () => {
      const made = `${TABLE}_made`
      await side.db().query(`create table ${made} (id int)`)
      await side.db().query(`insert into ${made}(id) values (1)`)
      expect((await side.db().query(`select id from ${made}`)).rowCount).toBe(1)
    })

    it('lazydb and Drizzle see each other inside the scope', async () => {
      await insert(side, 'by-lazydb')
      const orm = await side.orm()
      expect(await orm.bodies()).toContain('by-lazydb')
      await orm.insert('by-drizzle')
      expect(await bodiesIn(side)).toEqual([...SEED, 'by-lazydb', 'by-drizzle'])
    })
  })
}
