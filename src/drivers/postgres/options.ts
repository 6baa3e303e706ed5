import type { Options } from 'postgres'
import type { DriverConfig } from '../contract.js'
import { checkOptionKinds, type OptionKinds } from '../option-kinds.js'
import { MAX_CONNECTIONS_PER_REQUEST, poolDefaults, poolMax } from '../pool-defaults.js'
import { reaperSettings } from '../reaper-options.js'

// The options lazydb gives postgres.js for one database: the pool sized for the platform, a connect
// deadline, the connection tagged with an application_name, and everything else the user passed, as
// given (the user's own options win). No I/O; values are never quoted in a message.

/** lazydb's own options for this driver, which postgres.js must not see. */
const OWN = new Set(['applicationName', 'reaper'])

/** Seconds to connect before CONNECT_TIMEOUT unless the database sets `connect_timeout` (postgres.js waits 30). */
export const DEFAULT_CONNECT_TIMEOUT_S = 10
/**
 * Seconds a statement, transaction or reservation may wait for a connection unless the database sets
 * `queue_timeout`: postgres.js waits forever, so a transaction's fn that uses `db` instead of `tx` on a
 * full pool would hang.
 */
export const DEFAULT_QUEUE_TIMEOUT_S = 10

const seconds = (v: unknown) => v === null || v === false || (typeof v === 'number' && Number.isFinite(v) && v >= 0)

const KINDS: OptionKinds = {
  applicationName: (v) => typeof v === 'string' && v !== '' && !v.includes('\0'),
  idle_timeout: seconds,
  connect_timeout: seconds,
  queue_timeout: seconds,
  prepare: (v) => typeof v === 'boolean',
  connection: (v) => typeof v === 'object' && v !== null,
  types: (v) => typeof v === 'object' && v !== null,
}

/** Checks the options lazydb reads (the rest are postgres.js's to check); no I/O. */
export function checkPostgresOptions(config: DriverConfig): void {
  checkOptionKinds(config, KINDS, 'postgres', 'See the postgres() options in @lazydb/core/postgres')
  poolMax(config)
  reaperSettings(config)
}

/** Whether the URL sets application_name itself (then it is the tag, as postgres.js gives the URL precedence). */
function urlSetsApplicationName(url: string): boolean {
  return /[?&]application_name=/i.test(url)
}

/**
 * postgres.js's options for this database:
 * - `max`: the platform's default (pool-defaults.ts), at most 5 behind a Hyperdrive binding
 *   (Cloudflare's guidance), or the database's own;
 * - `idle_timeout` (seconds): the platform's default, or the database's own;
 * - `connect_timeout` and `queue_timeout`: 10 s each unless given;
 * - `connection.application_name`: `applicationName`, else 'lazydb', unless the URL or
 *   `connection.application_name` sets one;
 * - `onnotice`: off unless given (postgres.js logs every NOTICE to the console by default).
 * `prepare` stays postgres.js's (true): Hyperdrive supports prepared statements. Behind a pooler in
 * transaction mode without prepared-statement support (PgBouncer < 1.21 or without
 * max_prepared_statements), pass `prepare: false`.
 */
export function postgresOptions(config: DriverConfig): Options<Record<string, never>> {
  const given = config.options
  const passed: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(given)) if (!OWN.has(key) && value !== undefined) passed[key] = value
  let max = poolMax(config)
  if (config.hyperdrive === true && given.max === undefined) max = Math.min(max, MAX_CONNECTIONS_PER_REQUEST)
  const connection = { ...(given.connection as Record<string, unknown> | undefined) }
  if (connection.application_name === undefined && !urlSetsApplicationName(config.url)) {
    connection.application_name = (given.applicationName as string | undefined) ?? 'lazydb'
  }
  const reaper = reaperSettings(config)
  if (reaper !== undefined && connection.idle_session_timeout === undefined) {
    connection.idle_session_timeout = Math.round(reaper.serverIdleMs)
  }
  return {
    idle_timeout: poolDefaults(config).idleTimeoutMillis / 1000,
    connect_timeout: DEFAULT_CONNECT_TIMEOUT_S,
    queue_timeout: DEFAULT_QUEUE_TIMEOUT_S,
    onnotice: false,
    ...passed,
    max,
    connection,
  } as Options<Record<string, never>>
}
