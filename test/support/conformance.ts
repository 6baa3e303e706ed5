import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { handler, LazyDbError, type Registry } from '@lazydb/core'

/** How one SQL dialect spells the statements the shared suite runs. */
export interface Dialect {
  /** The n-th placeholder (1-based): `$1` or `?`. */
  param(n: number): string
  /** A table with an auto-increment integer `id` and a unique text `name`. */
  createTable(table: string): string
  dropTable(table: string): string
  /** SQLSTATE of a unique violation, where the driver has one. */
  uniqueSqlState?: string
  /** Whether writes report `lastInsertId`. */
  lastInsertId: boolean
}

export interface ConformanceTarget {
  registry: Registry
  cleanup?: () => Promise<void>
  /**
   * The same SQL sent straight to the database, around the driver under test (mysql2 beside the
   * PlanetScale gateway): given one, every test also checks its outcome through it, so a gateway
   * bug can't hide a driver bug. Resolves to the rows; rejects with the database's own error.
   */
  reference?: (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>
}

/**
 * The behaviour every driver must share: params, `sql`, batch atomicity, transactions, errors.
 * Driver suites add their own type checks beside it.
 */
export function conformance(
  label: string,
  dialect: Dialect,
  open: () => Promise<ConformanceTarget>,
  enabled = true,
): void {
  describe.skipIf(!enabled)(`conformance: ${label}`, () => {
    let target: ConformanceTarget
    const table = `lazydb_conf_${label.replace(/[^a-z0-9]/gi, '_')}_${process.pid}`
    const p = dialect.param

    beforeAll(async () => {
      target = await open()
      await target.registry.database.query(dialect.dropTable(table))
      await target.registry.database.query(dialect.createTable(table))
    })
    afterAll(async () => {
      if (target === undefined) return
      await target.registry.database.query(dialect.dropTable(table)).catch(() => undefined)
      await target.registry.disconnect({ force: true })
      await target.cleanup?.()
    })

    const db = () => target.registry.database
    const firstValue = (rows: readonly Record<string, unknown>[]) => Number(Object.values(rows[0]!)[0])
    const count = async () => {
      const n = firstValue((await db().query(`select count(*) as n from ${table}`)).rows)
      if (target.reference !== undefined)
        expect(
          firstValue(await target.reference(`select count(*) as n from ${table}`)),
          'count through the reference',
        ).toBe(n)
      return n
    }
    /** Runs a statement that must fail through the reference too, and expects the same errno. */
    const sameFailure = async (error: LazyDbError, text: string, params?: unknown[]) => {
      if (target.reference === undefined) return
      const direct = (await target.reference(text, params).then(
        () => undefined,
        (e: unknown) => e,
      )) as { errno?: number } | undefined
      expect(direct, 'the reference rejects the statement too').toBeDefined()
      expect(error.errno).toBe(direct!.errno)
    }

    it('runs a query with params and reports rows, columns and rowCount', async () => {
      const result = await db().query<{ a: unknown; b: unknown }>(`select ${p(1)} as a, ${p(2)} as b`, ['x', 'y'])
      expect(result.rows).toEqual([{ a: 'x', b: 'y' }])
      expect(result.columns).toEqual(['a', 'b'])
      expect(result.rowCount).toBe(1)
      if (target.reference !== undefined)
        expect(await target.reference(`select ${p(1)} as a, ${p(2)} as b`, ['x', 'y'])).toEqual(result.rows)
    })

    it('inserts and reports rowCount (and lastInsertId where the driver has one)', async () => {
      const result = await db().query(`insert into ${table} (name) values (${p(1)})`, ['first'])
      expect(result.rowCount).toBe(1)
      if (dialect.lastInsertId) expect(result.lastInsertId).toMatch(/^[1-9][0-9]*$/)
      if (target.reference !== undefined && dialect.lastInsertId) {
        expect(await target.reference(`select id, name from ${table} where name = ${p(1)}`, ['first'])).toEqual([
          { id: result.lastInsertId, name: 'first' },
        ])
      }
    })

    it('binds sql`` values instead of splicing them', async () => {
      const evil = "x' or 1=1 --"
      const { rows } = await db().sql<{ v: string }>`select ${evil} as v`
      expect(rows[0]!.v).toBe(evil)
      if (target.reference !== undefined) expect(await target.reference(`select ${p(1)} as v`, [evil])).toEqual(rows)
      const hit = await db().sql`select id from ${table as never}`.catch((error: unknown) => error)
      expect(hit).toBeInstanceOf(LazyDbError) // a value is never an identifier either
    })

    it('runs a batch atomically and returns one result per statement', async () => {
      const before = await count()
      const results = await db().batch([
        { text: `insert into ${table} (name) values (${p(1)})`, params: ['b1'] },
        { text: `insert into ${table} (name) values (${p(1)})`, params: ['b2'] },
        { text: `select count(*) as n from ${table}` },
      ])
      expect(results).toHaveLength(3)
      expect(Number(Object.values(results[2]!.rows[0]!)[0])).toBe(before + 2)
      const failed = await db()
        .batch([
          { text: `insert into ${table} (name) values (${p(1)})`, params: ['b3'] },
          { text: `insert into ${table} (name) values (${p(1)})`, params: ['b1'] },
        ])
        .catch((error: unknown) => error)
      expect(failed).toBeInstanceOf(LazyDbError)
      expect((failed as LazyDbError).code).toBe('QUERY_FAILED')
      expect(await count()).toBe(before + 2)
    })

    it('commits a transaction when fn resolves', async () => {
      const before = await count()
      const value = await db().transaction(async (tx) => {
        await tx.query(`insert into ${table} (name) values (${p(1)})`, ['t1'])
        const inside = await tx.query(`select count(*) as n from ${table}`)
        return Number(Object.values(inside.rows[0]!)[0])
      })
      expect(value).toBe(before + 1)
      expect(await count()).toBe(before + 1)
    })

    it('rolls back a transaction when fn throws, rethrowing the same error', async () => {
      const before = await count()
      const mine = new Error('changed my mind')
      const caught = await db()
        .transaction(async (tx) => {
          await tx.query(`insert into ${table} (name) values (${p(1)})`, ['r1'])
          throw mine
        })
        .catch((error: unknown) => error)
      expect(caught).toBe(mine)
      expect(await count()).toBe(before)
    })

    it('surfaces a unique violation as QUERY_FAILED with the driver error as cause', async () => {
      await db().query(`insert into ${table} (name) values (${p(1)})`, ['dupe'])
      const error = (await db()
        .query(`insert into ${table} (name) values (${p(1)})`, ['dupe'])
        .catch((e: unknown) => e)) as LazyDbError
      expect(error).toBeInstanceOf(LazyDbError)
      expect(error.code).toBe('QUERY_FAILED')
      expect(error.database).toBe('default')
      expect(error.cause).toBeInstanceOf(Error)
      if (dialect.uniqueSqlState !== undefined) expect(error.sqlState).toBe(dialect.uniqueSqlState)
      await sameFailure(error, `insert into ${table} (name) values (${p(1)})`, ['dupe'])
    })

    it('surfaces a syntax error as QUERY_FAILED', async () => {
      const error = (await db()
        .query('selec nothing')
        .catch((e: unknown) => e)) as LazyDbError
      expect(error.code).toBe('QUERY_FAILED')
      expect(error.message).toMatch(/selec|syntax/i)
      await sameFailure(error, 'selec nothing')
    })

    it('handler() rolls back a transaction that fn left open', async () => {
      const before = await count()
      let pending: Promise<unknown> | undefined
      const fn = handler(target.registry, async () => {
        pending = db()
          .transaction(async (tx) => {
            await tx.query(`insert into ${table} (name) values (${p(1)})`, ['left-open'])
            await new Promise((resolve) => setTimeout(resolve, 300))
            await tx.query('select 1')
          })
          .catch((error: unknown) => error)
        await new Promise((resolve) => setTimeout(resolve, 100))
        return 'done'
      })
      expect(await fn()).toBe('done')
      const outcome = await pending
      expect(outcome).toBeInstanceOf(LazyDbError)
      expect((outcome as LazyDbError).code).toBe('CLOSED')
      expect(await count()).toBe(before)
    })
  })
}
