// Type-level checks, run by `tsc --noEmit` in `npm run check`: a database from a factory carries its
// client's type, a wrong client type does not compile, and extra names are part of the registry's
// type. Each `@ts-expect-error` fails the check if the line below it ever compiles.
import type { Client as LibsqlClient } from '@libsql/client'
import type { Pool } from '@neondatabase/serverless'
import type { Client as PlanetscaleClient } from '@planetscale/database'
import { type Database, Registry } from '@lazydb/core'
import { libsql } from '@lazydb/core/libsql'
import { type NeonHttpClient, neon } from '@lazydb/core/neon'
import { planetscale } from '@lazydb/core/planetscale'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const expectType = <T extends true>(_: T): void => undefined

export async function typedClients(env: Record<string, string | undefined>): Promise<void> {
  const registry = new Registry({
    database: libsql('file:.data/app.db'),
    extra: {
      http: neon('postgres://u:p@ep-x.neon.tech/db'),
      pool: neon('postgres://u:p@ep-x.neon.tech/db', { transport: 'ws' }),
      poolByDriver: neon('postgres://u:p@ep-x.neon.tech/db', { driver: 'neon-ws' }),
      ps: planetscale('mysql://u:p@aws.connect.psdb.cloud/db'),
      byUrl: 'postgres://u:p@ep-x.neon.tech/db',
      fromEnv: env.ANALYTICS_URL,
    },
  })
  expectType<Equal<Awaited<ReturnType<typeof registry.database.client>>, LibsqlClient>>(true)
  expectType<Equal<Awaited<ReturnType<typeof registry.extra.http.client>>, NeonHttpClient>>(true)
  expectType<Equal<Awaited<ReturnType<typeof registry.extra.pool.client>>, Pool>>(true)
  expectType<Equal<Awaited<ReturnType<typeof registry.extra.poolByDriver.client>>, Pool>>(true)
  expectType<Equal<Awaited<ReturnType<typeof registry.extra.ps.client>>, PlanetscaleClient>>(true)
  expectType<Equal<Awaited<ReturnType<typeof registry.extra.byUrl.client>>, unknown>>(true)
  expectType<Equal<typeof registry.extra.fromEnv, Database<unknown>>>(true)
  expectType<Equal<ReturnType<typeof registry.using<'pool'>>, Database<Pool>>>(true)
  expectType<Equal<ReturnType<typeof registry.using<'default'>>, Database<LibsqlClient>>>(true)

  const pool: Pool = await registry.using('pool').client()
  const sql: NeonHttpClient = await registry.using('http').client()
  const local: LibsqlClient = await registry.using().client()
  // @ts-expect-error — a libSQL database's client is not a Pool
  const wrong: Pool = await registry.database.client()
  // @ts-expect-error — a name the registry does not have
  registry.using('analytcs')
  // @ts-expect-error — the same, on `extra`
  void registry.extra.analytcs
  // @ts-expect-error — client() takes no type argument: the type comes from the database
  await registry.database.client<Pool>()
  void [pool, sql, local, wrong]

  // An optional database: leave the key out when its variable is unset; it is then typed as possibly absent.
  const analytics = env.ANALYTICS_URL
  const optional = new Registry({ database: ':memory:', extra: { ...(analytics ? { analytics } : {}) } })
  expectType<Equal<typeof optional.extra.analytics, Database<unknown> | undefined>>(true)
}
