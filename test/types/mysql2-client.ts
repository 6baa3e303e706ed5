// Type-level checks for the mysql2 driver, run by `tsc --noEmit` in `npm run check`: a database from
// mysql2() hands out the mysql2/promise Pool from client(), Drizzle and Kysely accept it as it is, and a
// wrong client type does not compile. Each `@ts-expect-error` fails the check if the line below it compiles.
import { drizzle } from 'drizzle-orm/mysql2'
import { Kysely, MysqlDialect } from 'kysely'
import type { Pool as CorePool } from 'mysql2'
import type { Pool } from 'mysql2/promise'
import { type Database, Registry } from '@lazydb/core'
import { mysql2 } from '@lazydb/core/mysql2'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const expectType = <T extends true>(_: T): void => undefined

export async function mysql2Client(env: { HYPERDRIVE: { connectionString: string } }): Promise<void> {
  const registry = new Registry({
    database: mysql2('mysql://u:p@db.internal/app', { max: 5, applicationName: 'orders' }),
    extra: { hyperdrive: mysql2(env.HYPERDRIVE), byUrl: 'mysql://u:p@db.internal/app' },
  })
  expectType<Equal<typeof registry.database, Database<Pool>>>(true)
  expectType<Equal<Awaited<ReturnType<typeof registry.database.client>>, Pool>>(true)
  expectType<Equal<Awaited<ReturnType<typeof registry.extra.hyperdrive.client>>, Pool>>(true)
  expectType<Equal<Awaited<ReturnType<typeof registry.extra.byUrl.client>>, unknown>>(true)

  const pool: Pool = await registry.database.client()
  const orm = drizzle({ client: pool })
  const kysely = new Kysely<Record<string, never>>({ dialect: new MysqlDialect({ pool: pool.pool }) })
  // @ts-expect-error — the promise Pool is not mysql2's callback Pool
  const core: CorePool = await registry.database.client()
  // @ts-expect-error — max is a number
  mysql2('mysql://u:p@db.internal/app', { max: '5' })
  void [orm, kysely, core]
}
