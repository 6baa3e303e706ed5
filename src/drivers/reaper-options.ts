import { configError, describeValue, isOptionsObject } from '../errors.js'
import { isTimerMs } from '../options.js'
import type { DriverConfig } from './contract.js'

// The fleet reaper's settings (`{ reaper: true }` or `{ reaper: { … } }` on a TCP database). No I/O.

export interface ReaperSettings {
  /** End this application's connections idle at least this long. Default 3 000 ms. */
  idleMs: number
  /** Reap once the connections in use reach this share of the server's limit (0–1). Default 0.8. */
  usage: number
  /** Look at most this often per process. Default 1 000 ms. */
  everyMs: number
  /**
   * The server ends a connection of ours idle this long by itself (Postgres `idle_session_timeout`,
   * MySQL `wait_timeout`), so connections of frozen instances go even when no live one reaps. Default 60 000 ms.
   */
  serverIdleMs: number
}

/** What a user may pass as `reaper`. */
export type ReaperOption = boolean | Partial<ReaperSettings>

const DEFAULTS: ReaperSettings = { idleMs: 3_000, usage: 0.8, everyMs: 1_000, serverIdleMs: 60_000 }

/** The reaper's settings, or undefined when it is off (the default). Throws CONFIG_INVALID for a bad value. */
export function reaperSettings(config: DriverConfig): ReaperSettings | undefined {
  const given = config.options.reaper
  if (given === undefined || given === false) return undefined
  if (given === true) return DEFAULTS
  if (!isOptionsObject(given)) {
    throw configError(config.alias, `reaper must be true or an object (got ${describeValue(given)})`, fix)
  }
  const settings = { ...DEFAULTS }
  for (const [name, value] of Object.entries(given)) {
    if (!(name in DEFAULTS)) throw configError(config.alias, `reaper has no setting "${name}"`, fix)
    const ok = name === 'usage' ? typeof value === 'number' && value > 0 && value <= 1 : isTimerMs(value)
    if (!ok) throw configError(config.alias, `reaper.${name} has an invalid value (${describeValue(value)})`, fix)
    settings[name as keyof ReaperSettings] = value as number
  }
  return settings
}

const fix = 'Pass reaper: true, or { idleMs: 3000, usage: 0.8, everyMs: 1000, serverIdleMs: 60000 }'
