// Drizzle (drizzle-orm/mysql2) as a user of lazydb: `drizzle({ client: await registry.database.client() })`
// inside handler() gets lazydb's mysql2/promise Pool, typed from `mysql2(url)` with no cast, straight to
// the real MariaDB as a MariaDB user of this suite's own. Pins down: create, insert, select, update; a
// Drizzle transaction (on a connection Drizzle checks out of the Pool itself) that commits, invisible
// outside until then, and one that rolls back, checked through an independent mysql2 connection; 20 warm
// invocations on one Pool that never opens more than one server connection; none left after disconnect.
// The scenario's steps and their checks are noteScenario's (support.ts); this file gives its Drizzle handlers.
import { count, eq, sql } from 'drizzle-orm'
import { int, mysqlTable, serial, varchar } from 'drizzle-orm/mysql-core'
import { drizzle } from 'drizzle-orm/mysql2'
import { describe, expect, it } from 'vitest'
import { handler, Registry } from '@lazydb/core'
import { mysql2 } from '@lazydb/core/mysql2'
import {
  ensureMariadbUser,
  MARIADB_CREDENTIALS,
  mariadbConnectionCount,
  requireMariadb,
  setupMariadb,
} from '../support/mariadb.js'
import { poll } from '../support/poll.js'
import { connects, type Decide, figures, mysqlReader, noteScenario, STEP_MS, unique, within } from './support.js'

const mariadbUp = await requireMariadb()
const TABLE = unique('orm_drizzle_mysql2')
const USER = 'lazydb_orm_mysql2'
const PASSWORD = 'orm-mysql2-pw-2291'
const notes = mysqlTable(TABLE, {
  id: serial('id').primaryKey(),
  body: varchar('body', { length: 100 }).notNull().unique(),
  n: int('n').notNull().default(0),
})

if (mariadbUp) {
  await setupMariadb()
  await ensureMariadbUser(USER, PASSWORD, [MARIADB_CREDENTIALS.database])
}
const url = `mysql://${USER}:${PASSWORD}@127.0.0.1:3306/${MARIADB_CREDENTIALS.database}`
const registry = new Registry({ database: mysql2(url, { max: 2 }), warn: false, platform: 'node' })
const scenario = noteScenario(registry, TABLE, mariadbUp && mysqlReader)

/** Drizzle on lazydb's Pool, for this invocation. */
const orm = async () => drizzle({ client: await registry.database.client() })

const createTable = handler(registry, async () => {
  await (await orm()).execute(
    sql.raw(
      `create table ${TABLE} (id serial primary key, body varchar(100) not null unique, n int not null default 0)`,
    ),
  )
})

const listNotes = handler(registry, async () => (await orm()).select().from(notes).orderBy(notes.id))

const setN = handler(registry, async (body: string, n: number) => {
  const [result] = await (await orm()).update(notes).set({ n }).where(eq(notes.body, body))
  return result.affectedRows
})

const addNotes = handler(registry, async (bodies: string[]) => {
  return (await orm()).transaction(async (tx) => {
    const ids = []
    for (const body of bodies) ids.push(...(await tx.insert(notes).values({ body }).$returningId()))
    return ids
  })
})

/** A Drizzle transaction that inserts `body`, then lets `decide` look from outside and commit or throw. */
const openTransaction = handler(registry, async (body: string, decide: Decide) => {
  return (await orm()).transaction(async (tx) => {
    await tx.insert(notes).values({ body })
    return decide()
  })
})

const countNotes = handler(registry, async () => {
  const db = await orm()
  const [row] = await db.select({ count: count() }).from(notes)
  return { count: row?.count, client: db.$client }
})

describe.skipIf(!mariadbUp)('Drizzle on mysql2 (drizzle-orm/mysql2, the Pool)', () => {
  it('creates a table, inserts, selects and updates inside handler()', async () => {
    const added = await scenario.crud({ createTable, insert: addNotes, select: listNotes, update: setN }, 1)
    expect(typeof added[0]!.id).toBe('number')
  })

  it('commits a Drizzle transaction, and rolls back one that fails, as an independent mysql2 client sees', async () => {
    await scenario.commitsAndRollsBack(addNotes, /Duplicate entry 'a'/)
    await scenario.looksOutsideThenDecides(openTransaction)
  })

  it('serves 20 warm invocations from one Pool on one server connection, none left after disconnect', async () => {
    const { client: pool, ms } = await scenario.warm(5, countNotes)
    const serverConnections = await mariadbConnectionCount(USER)
    expect(serverConnections).toBe(1)
    await within(registry.disconnect(), STEP_MS, 'disconnect')
    expect(await poll(async () => (await mariadbConnectionCount(USER)) === 0)).toBe(true)
    expect((pool as unknown as { pool: { _closed: boolean } }).pool._closed).toBe(true)
    figures('drizzle mysql2 warm', { warm20Ms: ms, connects: connects(registry), serverConnections })
  })
})
