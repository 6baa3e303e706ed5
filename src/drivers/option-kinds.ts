import { configError } from '../errors.js'
import type { DriverConfig } from './contract.js'

/** What each driver option must be: a check per name. */
export type OptionKinds = Readonly<Record<string, (value: unknown) => boolean>>

/**
 * Checks the options a driver reads against their kinds; no I/O. The message names the option and the
 * type it got, never its value (it may be a secret). Throws CONFIG_INVALID.
 */
export function checkOptionKinds(config: DriverConfig, kinds: OptionKinds, driver: string, fix: string): void {
  for (const [name, ok] of Object.entries(kinds)) {
    const value = config.options[name]
    if (value !== undefined && !ok(value)) {
      throw configError(config.alias, `the ${driver} option ${name} has an invalid value (${typeof value})`, fix)
    }
  }
}
