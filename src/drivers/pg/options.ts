import { isTimerMs } from '../../options.js'
import type { DriverConfig } from '../contract.js'
import { checkOptionKinds, type OptionKinds } from '../option-kinds.js'
import { poolMax } from '../pool-defaults.js'
import { reaperSettings } from '../reaper-options.js'

// The options the pg driver accepts beside the URL, and what each must be. No I/O; values never quoted.

const KINDS: OptionKinds = {
  max: (v) => Number.isInteger(v) && (v as number) >= 1,
  idleTimeoutMillis: (v) => isTimerMs(v),
  connectionTimeoutMillis: (v) => isTimerMs(v),
  applicationName: (v) => typeof v === 'string' && v.length <= 63,
  statementTimeoutMs: (v) => isTimerMs(v),
  ssl: (v) => typeof v === 'boolean' || (typeof v === 'object' && v !== null),
}

/** Checks the pg options; no I/O. */
export function checkPgOptions(config: DriverConfig): void {
  checkOptionKinds(config, KINDS, 'pg', 'See the pg() options in @lazydb/core/pg')
  poolMax(config)
  reaperSettings(config)
}
