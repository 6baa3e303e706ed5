import type { Pool } from 'pg'
import { Database } from '../../database.js'
import { configError, describeValue, isOptionsObject } from '../../errors.js'
import type { ConnectionStringBinding } from '../../hyperdrive.js'
import type { Scope } from '../../types.js'
import { registerDriver } from '../driver-table.js'
import type { ReaperOption } from '../reaper-options.js'
import { pgDriver } from './driver.js'

/**
 * Options for `pg()`, beside lazydb's own (`scope`, `idleTimeoutMs`). Pool sizes default per platform
 * (see the README's table): 5 per request on Workers, 2 per instance on Lambda and Netlify, 10 elsewhere.
 */
export interface PgOptions {
  scope?: Scope
  idleTimeoutMs?: number
  /** Most connections in the Pool. On Cloudflare Workers at most 5 (a Worker may hold 6 open per request). */
  max?: number
  /** Close a pooled connection idle this long (default 10 000 ms; 5 000 on Vercel). */
  idleTimeoutMillis?: number
  /** Give up waiting for a connection after this long (default 10 000 ms). */
  connectionTimeoutMillis?: number
  /** `application_name` of every connection (default: the URL's, else `lazydb`); the fleet reaper finds them by it. */
  applicationName?: string
  /** The server's `statement_timeout` for every connection. */
  statementTimeoutMs?: number
  /**
   * The fleet reaper (opt-in): when the server nears its connection limit, end this application's own
   * connections idle past `idleMs`, and have the server end any idle past `serverIdleMs` by itself.
   * @example pg(url, { reaper: { idleMs: 3000, usage: 0.8 } })
   */
  reaper?: ReaperOption
  /** pg's `ssl` setting (`true`, or TLS options). */
  ssl?: boolean | Record<string, unknown>
}

/**
 * A Postgres database on node-postgres (`pg`): a `Pool` over TCP that `client()` hands out. Takes a
 * URL or a Cloudflare Hyperdrive binding. Importing this subpath also registers the driver for
 * `postgres://` URLs to hosts other than Neon's.
 * @example
 * import { pg } from '@lazydb/core/pg'
 * export const registry = new Registry({ database: pg(process.env.DATABASE_URL) })
 * const db = drizzle(await registry.database.client()) // drizzle-orm/node-postgres, typed as the Pool
 * // Cloudflare Workers: new Registry({ database: pg(env.HYPERDRIVE) }) — a Pool per request, max 5
 */
export function pg(url: string | ConnectionStringBinding, options?: PgOptions): Database<Pool> {
  if (options !== undefined && !isOptionsObject(options)) {
    throw configError(
      undefined,
      `pg() options must be an object (got ${describeValue(options)})`,
      'Pass pg(url, { max: 5 }) or leave the options out',
    )
  }
  return new Database<Pool>({ ...options, url, driver: 'pg' })
}

export { classifyPostgres as classifyPg } from '../pg-common/errors.js'
export { pgDriver } from './driver.js'

registerDriver(pgDriver)
