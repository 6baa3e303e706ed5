import { Client, type Config } from '@planetscale/database'
import type { DatabaseOptions } from '../../database-config.js'
import { Database } from '../../database.js'
import { configError, describeValue, isOptionsObject } from '../../errors.js'
import type { Driver, DriverClient, DriverConfig } from '../contract.js'
import { registerDriver } from '../driver-table.js'
import { PlanetscaleClient } from './client.js'
import { classifyPlanetscale } from './errors.js'
import { checkConfig } from './options.js'

/** Options for `planetscale()`: the driver's `fetch`, `cast` and `format`, and lazydb's own. */
export type PlanetscaleOptions = Omit<DatabaseOptions, 'url' | 'driver'> & Pick<Config, 'fetch' | 'cast' | 'format'>

/**
 * A PlanetScale database (MySQL over HTTP, `@planetscale/database`) for a Registry.
 * `mysql://user:pass@host` is reached over https; an `http(s)://` URL is used as it is.
 * Importing this subpath also registers the driver for `mysql://` URLs.
 * @example
 * import { planetscale } from '@lazydb/core/planetscale'
 * export const registry = new Registry({ database: planetscale(env.DATABASE_URL) })
 * await registry.using(undefined, { schema: 'tenant_42' }).query('select * from orders where id = ?', [id])
 */
export function planetscale(url: string, options?: PlanetscaleOptions): Database<Client> {
  if (options !== undefined && !isOptionsObject(options)) {
    throw configError(
      undefined,
      `planetscale() options must be an object (got ${describeValue(options)})`,
      'Pass planetscale(url, { fetch }) or leave the options out',
    )
  }
  return new Database<Client>({ ...options, url, driver: 'planetscale' })
}

export const planetscaleDriver: Driver = {
  name: 'planetscale',
  validate: checkConfig,
  async connect(config: DriverConfig): Promise<DriverClient> {
    checkConfig(config)
    // The driver turns mysql:// into https:// itself and keeps http:// (a local gateway) as it is.
    return new PlanetscaleClient(new Client({ ...(config.options as Config), url: config.url }), config)
  },
  classify: classifyPlanetscale,
}

registerDriver(planetscaleDriver)
