import postgresJs, { type Options, type Sql } from 'postgres'
import { Database } from '../../database.js'
import { configError, describeValue, isOptionsObject } from '../../errors.js'
import type { ConnectionStringBinding } from '../../hyperdrive.js'
import type { Scope } from '../../types.js'
import type { Driver, DriverClient, DriverConfig } from '../contract.js'
import { registerDriver } from '../driver-table.js'
import { opened } from '../opened.js'
import { PostgresReaper } from '../pg-common/reaper.js'
import { type ReaperOption, reaperSettings } from '../reaper-options.js'
import { PostgresJsClient } from './client.js'
import { classifyPostgresJs } from './errors.js'
import { checkPostgresOptions, postgresOptions } from './options.js'

/**
 * Options for `postgres()`: lazydb's own (`scope`, `idleTimeoutMs`, `applicationName`) and any
 * postgres.js option (`max`, `idle_timeout`, `connect_timeout`, `queue_timeout`, `prepare`, `types`,
 * `ssl`, `connection`, …), which win over lazydb's defaults:
 * - `max`: per platform (10 on Node, 2 on Lambda and Netlify, 5 per request on Workers and behind a
 *   Hyperdrive binding); `idle_timeout`: 10 s (5 s on Vercel Node);
 * - `connect_timeout` and `queue_timeout`: 10 s each;
 * - `connection.application_name`: `applicationName`, else `'lazydb'`, unless the URL sets `application_name`;
 * - `onnotice`: off (postgres.js logs every NOTICE by default);
 * - `prepare`: postgres.js's default (true), right for direct connections and Hyperdrive; pass
 *   `prepare: false` behind a transaction-mode pooler without prepared statements (PgBouncer < 1.21
 *   or without `max_prepared_statements`).
 */
export interface PostgresOptions extends Omit<Options<Record<string, never>>, 'types'> {
  scope?: Scope
  idleTimeoutMs?: number
  /** Tags every connection (`application_name`, seen in pg_stat_activity). Default `'lazydb'`. */
  applicationName?: string
  /**
   * The fleet reaper (opt-in), as on pg: near the server's limit, end this application's idle
   * connections; the server ends any idle past `serverIdleMs` (`idle_session_timeout`).
   * @example postgres(url, { reaper: true })
   */
  reaper?: ReaperOption
  types?: Options<Record<string, postgresJs.PostgresType>>['types']
  [option: string]: unknown
}

/**
 * A PostgreSQL database over postgres.js (`postgres`) for a Registry, from a URL or a Hyperdrive
 * binding (`env.HYPERDRIVE`). `client()` hands out the postgres.js `sql` pool, for Drizzle
 * (`drizzle-orm/postgres-js`) and the like. Importing this subpath also registers the driver, so a
 * `postgres://` URL picks it where `@lazydb/core/pg` is not imported.
 * @example
 * import { postgres } from '@lazydb/core/postgres'
 * export const registry = new Registry({ database: postgres(process.env.DATABASE_URL) })
 * // Cloudflare: a pool per request, at most 5 connections (the default there)
 * export default withRegistry((env) => new Registry({ database: postgres(env.HYPERDRIVE) }), { fetch })
 * const db = drizzle(await registry.database.client()) // drizzle-orm/postgres-js, typed as Sql
 */
export function postgres(urlOrBinding: string | ConnectionStringBinding, options?: PostgresOptions): Database<Sql> {
  if (options !== undefined && !isOptionsObject(options)) {
    throw configError(
      undefined,
      `postgres() options must be an object (got ${describeValue(options)})`,
      'Pass postgres(url, { max: 5 }) or leave the options out',
    )
  }
  if (options?.driver !== undefined && options.driver !== 'postgres') {
    throw configError(undefined, 'postgres() always uses the postgres driver', 'Leave the driver option out')
  }
  return new Database<Sql>({ ...options, url: urlOrBinding, driver: 'postgres' })
}

export const postgresDriver: Driver = {
  name: 'postgres',
  validate: checkPostgresOptions,
  async connect(config: DriverConfig): Promise<DriverClient> {
    checkPostgresOptions(config)
    const sql = postgresJs(config.url, postgresOptions(config)) as unknown as Sql
    const fleet = reaperSettings(config)
    const client = new PostgresJsClient(sql, config, fleet === undefined ? undefined : new PostgresReaper(fleet))
    return opened(client)
  },
  classify: classifyPostgresJs,
}

export { classifyPostgresJs } from './errors.js'

registerDriver(postgresDriver)
