import type { Pool } from 'mysql2/promise'
import { createPool } from 'mysql2/promise'
import type { DatabaseOptions } from '../../database-config.js'
import { Database } from '../../database.js'
import { configError, describeValue, isOptionsObject } from '../../errors.js'
import type { ConnectionStringBinding } from '../../hyperdrive.js'
import type { Driver, DriverClient, DriverConfig } from '../contract.js'
import { registerDriver } from '../driver-table.js'
import { opened } from '../opened.js'
import { type ReaperOption, reaperSettings } from '../reaper-options.js'
import { MysqlReaper } from './reaper.js'
import { classifyMysql2 } from './errors.js'
import { checkMysql2Options, mysql2PoolOptions, poolSettings, urlOptions } from './options.js'
import { Mysql2PoolClient } from './pool.js'

/**
 * Options for `mysql2()`: lazydb's own (`scope`, `idleTimeoutMs`), the pool's, and mysql2's connection
 * options, passed through (`ssl`, `timezone`, `dateStrings`, `typeCast`, `connectTimeout`, …). The URL
 * gives host, port, user, password and database.
 */
export interface Mysql2Options extends Omit<DatabaseOptions, 'url' | 'driver'> {
  /**
   * Most connections in the pool (mysql2's `connectionLimit`). Default per platform: 10 on Node and
   * Vercel, 2 on Lambda and Netlify, 5 per request on Workers.
   */
  max?: number
  /** Close a pooled connection idle this long (mysql2's `idleTimeout`); 0 never. Default 10 000 (5 000 on Vercel). */
  idleTimeoutMillis?: number
  /** How long a statement may wait for a connection while all are in use, before TIMEOUT. Default 10 000 ms. */
  acquireTimeoutMillis?: number
  /** Sent as the `program_name` connection attribute, to tell a fleet's connections apart. Default `lazydb`. */
  applicationName?: string
  /** BIGINT and DECIMAL as exact strings: lazydb's default is true for both (mysql2's own is false). */
  supportBigNumbers?: boolean
  bigNumberStrings?: boolean
  /**
   * The fleet reaper (opt-in): near the server's connection limit, KILL this user's connections asleep
   * past `idleMs`, and have the server end any idle past `serverIdleMs` (`wait_timeout`).
   * @example mysql2(url, { reaper: true })
   */
  reaper?: ReaperOption
  /** More connection attributes; `program_name` is lazydb's unless set here. */
  connectAttributes?: Record<string, string>
}

/**
 * A MySQL or MariaDB database reached over TCP with `mysql2` (a `mysql2/promise` Pool, which `client()`
 * hands out, for Drizzle's `drizzle-orm/mysql2` or Kysely's `MysqlDialect`). Takes a `mysql://` URL or a
 * Hyperdrive binding. Importing this subpath also registers the driver for `mysql://` URLs.
 * @example
 * import { mysql2 } from '@lazydb/core/mysql2'
 * export const registry = new Registry({ database: mysql2(process.env.DATABASE_URL!, { applicationName: 'orders' }) })
 * const { rows } = await registry.database.query('select * from orders where id = ?', [id])
 * const db = drizzle(await registry.database.client()) // drizzle-orm/mysql2, typed as the Pool
 */
export function mysql2(urlOrBinding: string | ConnectionStringBinding, options?: Mysql2Options): Database<Pool> {
  if (options !== undefined && !isOptionsObject(options)) {
    throw configError(
      undefined,
      `mysql2() options must be an object (got ${describeValue(options)})`,
      'Pass mysql2(url, { max: 5 }) or leave the options out',
    )
  }
  return new Database<Pool>({ ...options, url: urlOrBinding, driver: 'mysql2' })
}

export const mysql2Driver: Driver = {
  name: 'mysql2',
  validate: checkMysql2Options,
  async connect(config: DriverConfig): Promise<DriverClient> {
    checkMysql2Options(config)
    const settings = poolSettings(config)
    const pool = createPool(mysql2PoolOptions(config, settings))
    const fleet = reaperSettings(config)
    const reaper = fleet === undefined ? undefined : new MysqlReaper(fleet)
    const client = new Mysql2PoolClient(pool, config, settings, String(urlOptions(config.url).database), reaper)
    return opened(client)
  },
  classify: classifyMysql2,
}

export { classifyMysql2 } from './errors.js'

registerDriver(mysql2Driver)
