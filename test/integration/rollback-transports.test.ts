// Rollback test mode over each transport and at its edges: neon-http gets a WebSocket session for the
// scope; PlanetScale (through its local gateway to MariaDB) runs the scope on a session of its own;
// client() refuses clearly where it cannot join the session; a request-scoped database gives its
// scope connection back when the scope ends; a transaction whose fn waits for work from outside it
// fails with TIMEOUT instead of hanging; work left running when the scope ends reports CLOSED; and
// withRollback hands back fn's result and error unchanged, rolling back either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pg from 'pg'
import { type Generated, Kysely, PostgresDialect, sql } from 'kysely'
import { handler, LazyDbError, Registry, startRollback, withRollback } from '@lazydb/core'
import { neon } from '@lazydb/core/neon'
import { planetscale } from '@lazydb/core/planetscale'
import { requireMariadb } from '../support/mariadb.js'
import { PG_URL, pgConnectionCount, requirePostgres, waitForConnectionCount } from '../support/postgres.js'
import { mysqlReader, type Reader, startNeon, startPlanetscale, unique, within } from '../orm/support.js'

const pgUp = await requirePostgres()
const mariadbUp = await requireMariadb()
const TABLE = unique('rollback_edges')
const APP = unique('rollback-edges')
const REQUEST_APP = unique('rollback-edges-req')

const backend = await startNeon()
const gateway = mariadbUp ? await startPlanetscale('lazydb_rollback') : undefined
const pgDirect = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 })
let mysql: Reader | undefined

const httpRegistry = new Registry({ database: neon(backend.url(APP), backend.http), warn: false })
const wsRegistry = new Registry({ database: neon(backend.url(APP), { transport: 'ws', ...backend.ws }), warn: false })
const requestRegistry = new Registry({
  database: neon(backend.url(REQUEST_APP), { transport: 'ws', scope: 'request', ...backend.ws }),
  warn: false,
})
const psRegistry = new Registry({ database: planetscale(gateway?.url() ?? 'http://unused@127.0.0.1:9'), warn: false })

const pgBodies = async () =>
  (await pgDirect.query(`select body from ${TABLE} order by id`)).rows.map((r: { body: string }) => r.body)

beforeAll(async () => {
  if (pgUp) {
    await within(pgDirect.connect(), 5000, 'pg connect')
    await pgDirect.query(`drop table if exists ${TABLE}`)
    await pgDirect.query(`create table ${TABLE} (id serial primary key, body text not null unique)`)
    await pgDirect.query(`insert into ${TABLE}(body) values ('seed')`)
  }
  if (mariadbUp) {
    await psRegistry.database.query(`drop table if exists ${TABLE}`)
    await psRegistry.database.query(
      `create table ${TABLE} (id int auto_increment primary key, body varchar(50) not null unique)`,
    )
    await psRegistry.database.query(`insert into ${TABLE}(body) values ('seed')`)
    mysql = await mysqlReader()
  }
})

afterAll(async () => {
  if (pgUp) {
    await pgDirect.query(`drop table if exists ${TABLE}`)
    await pgDirect.end()
  }
  if (mysql !== undefined) {
    await mysql.drop(TABLE)
    await mysql.close()
  }
  await Promise.all([httpRegistry, wsRegistry, requestRegistry, psRegistry].map((r) => r.disconnect({ force: true })))
  await backend.close()
  await gateway?.close()
})

describe.skipIf(!pgUp)('neon-http', () => {
  it('runs the scope on a WebSocket session: statements, batch and transactions, all rolled back', async () => {
    const db = httpRegistry.database
    const seen = await withRollback(httpRegistry, async () => {
      await db.query(`insert into ${TABLE}(body) values ($1)`, ['http-1'])
      await db.batch([{ text: `insert into ${TABLE}(body) values ($1)`, params: ['http-2'] }])
      await db.transaction(async (tx) => {
        await tx.query(`insert into ${TABLE}(body) values ($1)`, ['http-3'])
      })
      // Still invisible outside, though transaction() "committed".
      expect(await pgBodies()).toEqual(['seed'])
      return (await db.query<{ body: string }>(`select body from ${TABLE} order by id`)).rows.map((r) => r.body)
    })
    expect(seen).toEqual(['seed', 'http-1', 'http-2', 'http-3'])
    expect(await pgBodies()).toEqual(['seed'])
  })

  it('client() inside the scope is refused, saying to use neon-ws', async () => {
    const error = await withRollback(httpRegistry, () => httpRegistry.database.client().catch((e: unknown) => e))
    expect(error).toBeInstanceOf(LazyDbError)
    expect(error).toMatchObject({ code: 'TRANSACTION_UNSUPPORTED', database: 'default' })
    expect((error as Error).message).toMatch(/rollback scope.*neon-ws/)
  })
})

describe.skipIf(!pgUp)('neon-ws', () => {
  it('withRollback resolves to what fn resolved to, and rolls back', async () => {
    const result = await withRollback(wsRegistry, async () => {
      await wsRegistry.database.query(`insert into ${TABLE}(body) values ($1)`, ['ws-1'])
      return 'done'
    })
    expect(result).toBe('done')
    expect(await pgBodies()).toEqual(['seed'])
  })

  it("withRollback rejects with fn's error unchanged, and rolls back", async () => {
    const boom = new Error('fn failed')
    await expect(
      withRollback(wsRegistry, async () => {
        await wsRegistry.database.query(`insert into ${TABLE}(body) values ($1)`, ['ws-2'])
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(await pgBodies()).toEqual(['seed'])
  })

  it('a second scope on the same registry is refused until the first ends', async () => {
    const scope = startRollback(wsRegistry)
    try {
      expect(() => startRollback(wsRegistry)).toThrow(/already open/)
    } finally {
      await scope.end()
    }
    await withRollback(wsRegistry, () => wsRegistry.database.query('select 1'))
  })

  it('after the scope, statements run for real again (a write persists)', async () => {
    await withRollback(wsRegistry, () => wsRegistry.database.query(`insert into ${TABLE}(body) values ('gone')`))
    await wsRegistry.database.query(`insert into ${TABLE}(body) values ('real')`)
    expect(await pgBodies()).toEqual(['seed', 'real'])
    await pgDirect.query(`delete from ${TABLE} where body = 'real'`)
  })

  it('a transaction whose fn waits for work from outside it fails with TIMEOUT instead of hanging', async () => {
    const db = wsRegistry.database
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    await withRollback(
      wsRegistry,
      async () => {
        // Started outside the transaction (its continuation belongs to this context, not to the fn).
        const outside = gate.then(() => db.query(`insert into ${TABLE}(body) values ('outside')`))
        const failed = db.transaction(async (tx) => {
          await tx.query(`insert into ${TABLE}(body) values ('inside')`)
          release()
          await outside
        })
        await expect(within(failed, 5000, 'transaction')).rejects.toMatchObject({ code: 'TIMEOUT' })
        const { rows } = await db.query<{ body: string }>(`select body from ${TABLE} order by id`)
        expect(rows.map((r) => r.body)).toEqual(['seed'])
      },
      { lockTimeoutMs: 200 },
    )
    expect(await pgBodies()).toEqual(['seed'])
  })

  it('work left running when the scope ends reports CLOSED and writes nothing', async () => {
    const db = wsRegistry.database
    let proceed!: () => void
    const later = new Promise<void>((r) => (proceed = r))
    let leaked: Promise<unknown> | undefined
    await withRollback(wsRegistry, async () => {
      let inserted!: () => void
      const first = new Promise<void>((r) => (inserted = r))
      leaked = db.transaction(async (tx) => {
        await tx.query(`insert into ${TABLE}(body) values ('leaked-1')`)
        inserted()
        await later
        await tx.query(`insert into ${TABLE}(body) values ('leaked-2')`)
      })
      await first // fn returns with the transaction still open
    })
    proceed()
    await expect(leaked).rejects.toMatchObject({ code: 'CLOSED' })
    expect(await pgBodies()).toEqual(['seed'])
  })

  it("Kysely's PostgresDialect on client(): its transactions become savepoints, and all is rolled back", async () => {
    await withRollback(wsRegistry, async () => {
      const db = new Kysely<Record<string, { id: Generated<number>; body: string }>>({
        dialect: new PostgresDialect({ pool: await wsRegistry.database.client() }),
      })
      await db.insertInto(TABLE).values({ body: 'kysely-1' }).execute()
      await db.transaction().execute(async (trx) => {
        await trx.insertInto(TABLE).values({ body: 'kysely-2' }).execute()
      })
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.insertInto(TABLE).values({ body: 'kysely-gone' }).execute()
          throw new Error('kysely fails')
        }),
      ).rejects.toThrow('kysely fails')
      const { rows } = await sql<{ body: string }>`select body from ${sql.table(TABLE)} order by id`.execute(db)
      expect(rows.map((r) => r.body)).toEqual(['seed', 'kysely-1', 'kysely-2'])
      expect(await pgBodies()).toEqual(['seed'])
      await db.destroy() // ends the "pool": the scope's session stays open until the scope ends
      await wsRegistry.database.query(`insert into ${TABLE}(body) values ('after-destroy')`)
    })
    expect(await pgBodies()).toEqual(['seed'])
  })

  it('a schema view inside the scope is refused clearly', async () => {
    await withRollback(wsRegistry, async () => {
      const view = wsRegistry.using(undefined, { schema: 'public' })
      await expect(view.query('select 1')).rejects.toMatchObject({ code: 'TRANSACTION_UNSUPPORTED' })
    })
  })

  it('a request-scoped database: invocations share the scope; its connection closes at the end', async () => {
    const db = requestRegistry.database
    const add = handler(requestRegistry, async (body: string) =>
      db.query(`insert into ${TABLE}(body) values ($1)`, [body]),
    )
    await withRollback(requestRegistry, async () => {
      await add('req-1')
      await add('req-2')
      const { rows } = await db.query<{ body: string }>(`select body from ${TABLE} order by id`)
      expect(rows.map((r) => r.body)).toEqual(['seed', 'req-1', 'req-2'])
      expect(await pgConnectionCount(REQUEST_APP)).toBeGreaterThan(0)
    })
    expect(await pgBodies()).toEqual(['seed'])
    await waitForConnectionCount(0, REQUEST_APP)
  })
})

describe.skipIf(!mariadbUp)('planetscale', () => {
  it('runs the scope on a session of its own: statements, batch, nested transactions, all rolled back', async () => {
    const db = psRegistry.database
    await withRollback(psRegistry, async () => {
      await db.query(`insert into ${TABLE}(body) values (?)`, ['ps-1'])
      await db.batch([{ text: `insert into ${TABLE}(body) values (?)`, params: ['ps-2'] }])
      await db.transaction(async (tx) => {
        await tx.query(`insert into ${TABLE}(body) values (?)`, ['ps-3'])
        await expect(
          db.transaction(async (inner) => {
            await inner.query(`insert into ${TABLE}(body) values (?)`, ['ps-inner'])
            throw new Error('inner fails')
          }),
        ).rejects.toThrow('inner fails')
      })
      const { rows } = await db.query<{ body: string }>(`select body from ${TABLE} order by id`)
      expect(rows.map((r) => r.body)).toEqual(['seed', 'ps-1', 'ps-2', 'ps-3'])
      expect(await mysql!.bodies(TABLE)).toEqual(['seed'])
    })
    expect(await mysql!.bodies(TABLE)).toEqual(['seed'])
  })

  it('client() inside the scope is refused clearly', async () => {
    await withRollback(psRegistry, async () => {
      await expect(psRegistry.database.client()).rejects.toMatchObject({ code: 'TRANSACTION_UNSUPPORTED' })
    })
  })
})
