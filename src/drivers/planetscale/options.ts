import { configError } from '../../errors.js'
import type { DriverConfig } from '../contract.js'

/** Checks the URL scheme and the options PlanetScale's driver takes (functions); no I/O. */
export function checkConfig(config: DriverConfig): void {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(config.url)?.[1]?.toLowerCase()
  if (scheme !== 'mysql' && scheme !== 'http' && scheme !== 'https') {
    throw configError(
      config.alias,
      `the planetscale driver needs a mysql://, https:// or http:// URL (got ${scheme ?? 'no'} scheme)`,
      'Use the mysql://user:password@host URL from PlanetScale',
    )
  }
  for (const name of ['fetch', 'cast', 'format']) {
    const value = config.options[name]
    if (value !== undefined && typeof value !== 'function')
      throw configError(config.alias, `option ${name} must be a function`, `Pass the ${name} function or leave it out`)
  }
}
