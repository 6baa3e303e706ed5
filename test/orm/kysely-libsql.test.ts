// Kysely (kysely-libsql's LibsqlDialect) as a user of lazydb: `new LibsqlDialect({ client: await
// registry.database.client() })` inside handler(), the Client typed from `libsql(url)` with no cast, on an
// embedded SQLite file. The dialect takes lazydb's client as it is (or a config, to build its own) and never
// closes a client it was given: `db.destroy()` leaves lazydb's open. Pins down: create, insert, select,
// update; a Kysely transaction that commits (invisible outside until then) and one that rolls back, each
// checked through a second libSQL client; the suite's LazyDbDialect on SQLite (statements counted by lazydb,
// its transactions committing and rolling back); 20 warm invocations on the one client lazydb created.
import { afterAll, describe, expect, it } from 'vitest'
import { type ColumnType, type Generated, Kysely } from 'kysely'
import { LibsqlDialect } from 'kysely-libsql'
import { handler, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { LazyDbDialect } from './kysely-lazydb-dialect.js'
import { connects, figures, libsqlFile, rejection, STEP_MS, warmRun, within } from './support.js'

const file = libsqlFile()
const reader = file.reader()
const TABLE = `orm_kysely_libsql_${process.pid}` as const
type Tables = Record<typeof TABLE, { id: Generated<number>; body: string; n: ColumnType<number, number | undefined> }>

const registry = new Registry({ database: libsql(file.url), warn: false })
afterAll(async () => {
  await within(registry.disconnect(), STEP_MS, 'disconnect')
  await reader.close()
  file.remove()
})

const createTable = handler(registry, async () => {
  const db = new Kysely<Tables>({ dialect: new LibsqlDialect({ client: await registry.database.client() }) })
  await db.schema
    .createTable(TABLE)
    .addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement())
    .addColumn('body', 'text', (col) => col.notNull().unique())
    .addColumn('n', 'integer', (col) => col.notNull().defaultTo(0))
    .execute()
})

const listNotes = handler(registry, async () => {
  const db = new Kysely<Tables>({ dialect: new LibsqlDialect({ client: await registry.database.client() }) })
  return db.selectFrom(TABLE).selectAll().orderBy('id').execute()
})

const setN = handler(registry, async (body: string, n: number) => {
  const db = new Kysely<Tables>({ dialect: new LibsqlDialect({ client: await registry.database.client() }) })
  return db.updateTable(TABLE).set({ n }).where('body', '=', body).returningAll().execute()
})

const addNotes = handler(registry, async (bodies: string[]) => {
  const db = new Kysely<Tables>({ dialect: new LibsqlDialect({ client: await registry.database.client() }) })
  return db.transaction().execute(async (trx) => {
    const added = []
    for (const body of bodies)
      added.push(await trx.insertInto(TABLE).values({ body }).returningAll().executeTakeFirstOrThrow())
    return added
  })
})

/** A transaction that looks from outside before it decides, then throws `reason` (or commits). */
const openTransaction = handler(registry, async (body: string, outside: () => Promise<string[]>, reason?: Error) => {
  const db = new Kysely<Tables>({ dialect: new LibsqlDialect({ client: await registry.database.client() }) })
  return db.transaction().execute(async (trx) => {
    await trx.insertInto(TABLE).values({ body }).execute()
    const seenOutside = await outside()
    if (reason !== undefined) throw reason
    return seenOutside
  })
})

const countNotes = handler(registry, async () => {
  const client = await registry.database.client()
  const db = new Kysely<Tables>({ dialect: new LibsqlDialect({ client }) })
  const row = await db
    .selectFrom(TABLE)
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .executeTakeFirstOrThrow()
  await db.destroy() // kysely-libsql closes only a client it built itself
  return { count: row.count, client }
})

const viaLazyDb = new Kysely<Tables>({ dialect: new LazyDbDialect(registry.database) })

const rename = handler(registry, async (from: string, to: string, reason?: Error) => {
  return viaLazyDb.transaction().execute(async (trx) => {
    await trx.updateTable(TABLE).set({ body: to }).where('body', '=', from).execute()
    if (reason !== undefined) throw reason
  })
})

describe('Kysely on libSQL (kysely-libsql)', () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await within(createTable(), STEP_MS, 'create table')
    const added = await within(addNotes(['a', 'b']), STEP_MS, 'insert')
    expect(await within(listNotes(), STEP_MS, 'select')).toEqual([
      { id: added[0]!.id, body: 'a', n: 0 },
      { id: added[1]!.id, body: 'b', n: 0 },
    ])
    expect(await within(setN('b', 7), STEP_MS, 'update')).toEqual([{ id: added[1]!.id, body: 'b', n: 7 }])
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b'])
    expect(await reader.n(TABLE, 'b')).toBe(7)
  })

  it('commits a Kysely transaction, and rolls back one that fails, as a second client sees', async () => {
    await within(addNotes(['c1', 'c2']), STEP_MS, 'committing transaction')
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b', 'c1', 'c2'])
    expect(await rejection(addNotes(['r1', 'a']))).toMatch(/UNIQUE constraint failed/)
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b', 'c1', 'c2'])

    const outside = () => reader.bodies(TABLE)
    expect(await within(openTransaction('t1', outside), STEP_MS, 'looking outside')).not.toContain('t1')
    expect(await reader.bodies(TABLE)).toContain('t1')
    const reason = new Error('changed my mind')
    await expect(within(openTransaction('t2', outside, reason), STEP_MS, 'rolled back')).rejects.toBe(reason)
    expect(await reader.bodies(TABLE)).not.toContain('t2')
  })

  it('runs LazyDbDialect too: lazydb counts its statements, its transactions commit or roll back', async () => {
    const queriesBefore = registry.stats().databases.default!.queries
    await within(rename('t1', 't1-renamed'), STEP_MS, 'committing rename')
    expect(registry.stats().databases.default!.queries - queriesBefore).toBe(1)
    const reason = new Error('changed my mind')
    await expect(within(rename('c1', 'c1-renamed', reason), STEP_MS, 'rolled back rename')).rejects.toBe(reason)
    expect(await reader.bodies(TABLE)).toEqual(['a', 'b', 'c1', 'c2', 't1-renamed'])
  })

  it('serves 20 warm invocations from the one client it connected, which db.destroy() leaves open', async () => {
    const { clients, ms } = await warmRun(20, async () => {
      const { count, client } = await countNotes()
      expect(count).toBe(5)
      return client
    })
    expect(clients.size).toBe(1)
    expect(([...clients][0] as { closed: boolean }).closed).toBe(false)
    expect(connects(registry)).toBe(1)
    expect(registry.stats().invocations.cold).toBe(1)
    figures('kysely libsql', { warm20Ms: ms, connects: connects(registry) })
  })
})
