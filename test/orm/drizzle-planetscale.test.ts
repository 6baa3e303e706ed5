// Drizzle (drizzle-orm/planetscale-serverless) as a user of lazydb: `drizzle(await registry.database.client())`
// inside handler() gets lazydb's @planetscale/database Client, typed from `planetscale(url)` with no cast,
// through the local PlanetScale gateway to MariaDB (as a MariaDB user of this suite's own). Pins down:
// create, insert, select, update; a Drizzle transaction that commits (invisible outside until then) and one
// that rolls back, checked through an independent mysql2 connection; 20 warm invocations on one Client.
// The scenario's steps and their checks are noteScenario's (support.ts); this file gives its Drizzle handlers.
import { describe, expect, it } from 'vitest'
import { count, eq, sql } from 'drizzle-orm'
import { int, mysqlTable, serial, varchar } from 'drizzle-orm/mysql-core'
import { drizzle } from 'drizzle-orm/planetscale-serverless'
import { handler, Registry } from '@lazydb/core'
import { planetscale } from '@lazydb/core/planetscale'
import { requireMariadb } from '../support/mariadb.js'
import { connects, type Decide, figures, mysqlReader, noteScenario, startPlanetscale, unique } from './support.js'

const mariadbUp = await requireMariadb()
const TABLE = unique('orm_drizzle_ps')
const notes = mysqlTable(TABLE, {
  id: serial('id').primaryKey(),
  body: varchar('body', { length: 100 }).notNull().unique(),
  n: int('n').notNull().default(0),
})

const gateway = mariadbUp ? await startPlanetscale('lazydb_orm') : undefined
const registry = new Registry({ database: planetscale(gateway?.url() ?? 'http://unused@127.0.0.1:9'), warn: false })
const scenario = noteScenario(registry, TABLE, mariadbUp && mysqlReader, { close: () => gateway?.close() })

const createTable = handler(registry, async () => {
  const db = drizzle(await registry.database.client())
  await db.execute(
    sql.raw(
      `create table ${TABLE} (id serial primary key, body varchar(100) not null unique, n int not null default 0)`,
    ),
  )
})

const listNotes = handler(registry, async () => {
  const db = drizzle(await registry.database.client())
  return db.select().from(notes).orderBy(notes.id)
})

const setN = handler(registry, async (body: string, n: number) => {
  const db = drizzle(await registry.database.client())
  const result = await db.update(notes).set({ n }).where(eq(notes.body, body))
  return result.rowsAffected
})

const addNotes = handler(registry, async (bodies: string[]) => {
  const db = drizzle(await registry.database.client())
  return db.transaction(async (tx) => {
    const ids = []
    for (const body of bodies) ids.push(...(await tx.insert(notes).values({ body }).$returningId()))
    return ids
  })
})

/** A Drizzle transaction that inserts `body`, then lets `decide` look from outside and commit or throw. */
const openTransaction = handler(registry, async (body: string, decide: Decide) => {
  const db = drizzle(await registry.database.client())
  return db.transaction(async (tx) => {
    await tx.insert(notes).values({ body })
    return decide()
  })
})

const countNotes = handler(registry, async () => {
  const db = drizzle(await registry.database.client())
  const [row] = await db.select({ count: count() }).from(notes)
  return { count: row?.count, client: db.$client }
})

describe.skipIf(!mariadbUp)('Drizzle on PlanetScale (drizzle-orm/planetscale-serverless)', () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    await scenario.crud({ createTable, insert: addNotes, select: listNotes, update: setN }, 1)
  })

  it('commits a Drizzle transaction, and rolls back one that fails, as an independent mysql2 client sees', async () => {
    await scenario.commitsAndRollsBack(addNotes, /Duplicate entry 'a'/)
    await scenario.looksOutsideThenDecides(openTransaction)
  })

  it('serves 20 warm invocations from the one client it connected', async () => {
    gateway!.resetCounters()
    const { ms } = await scenario.warm(5, countNotes)
    expect(gateway!.roundTrips).toBe(20)
    expect(gateway!.pinnedSessions()).toBe(0)
    figures('drizzle planetscale', { warm20Ms: ms, connects: connects(registry), roundTrips: gateway!.roundTrips })
  })
})
