// pg: node-postgres's Pool over TCP, run by the pg-pool client it shares with neon-ws.
import { Pool } from 'pg'
import type { Driver, DriverClient, DriverConfig } from '../contract.js'
import { classifyPostgres } from '../pg-common/errors.js'
import { openPoolClient, type Pool as PgPool, poolOptions } from '../pg-common/pool-client.js'
import { PostgresReaper } from '../pg-common/reaper.js'
import { reaperSettings } from '../reaper-options.js'
import { checkPgOptions } from './options.js'

/** Every connection's tag unless the URL or `applicationName` names one: the fleet reaper finds them by it. */
export const DEFAULT_APPLICATION_NAME = 'lazydb'

function pgPoolConfig(config: DriverConfig, reaper: PostgresReaper | undefined): Record<string, unknown> {
  const options = config.options as { applicationName?: string; statementTimeoutMs?: number; ssl?: unknown }
  const settings: Record<string, unknown> = {
    ...poolOptions(config),
    connectionString: config.url,
    fallback_application_name: DEFAULT_APPLICATION_NAME,
    // Node keeps a pooled socket alive across quiet spells; a frozen Lambda's socket is found stale on thaw.
    keepAlive: true,
  }
  if (options.applicationName !== undefined) settings.application_name = options.applicationName
  if (options.statementTimeoutMs !== undefined) settings.statement_timeout = options.statementTimeoutMs
  if (options.ssl !== undefined) settings.ssl = options.ssl
  if (reaper !== undefined) settings.options = reaper.startupOptions()
  return settings
}

export const pgDriver: Driver = {
  name: 'pg',
  async connect(config: DriverConfig): Promise<DriverClient> {
    checkPgOptions(config)
    const settings = reaperSettings(config)
    const reaper = settings === undefined ? undefined : new PostgresReaper(settings)
    return openPoolClient(new Pool(pgPoolConfig(config, reaper)) as unknown as PgPool, config, reaper)
  },
  classify: classifyPostgres,
  validate: checkPgOptions,
}
