import { isTimerMs } from '../../options.js'
import type { DriverConfig } from '../contract.js'
import { checkOptionKinds, type OptionKinds } from '../option-kinds.js'

// The options both Neon transports accept, and what each must be. No I/O; values never quoted.

const KINDS: OptionKinds = {
  wsProxy: (v) => typeof v === 'string' || typeof v === 'function',
  webSocketConstructor: (v) => typeof v === 'function',
  useSecureWebSocket: (v) => typeof v === 'boolean',
  pipelineConnect: (v) => v === false || v === 'password',
  pipelineTLS: (v) => typeof v === 'boolean',
  forceDisablePgSSL: (v) => typeof v === 'boolean',
  coalesceWrites: (v) => typeof v === 'boolean',
  max: (v) => Number.isInteger(v) && (v as number) >= 1,
  idleTimeoutMillis: (v) => isTimerMs(v),
  connectionTimeoutMillis: (v) => isTimerMs(v),
  authToken: (v) => typeof v === 'string' || typeof v === 'function',
  fetchOptions: (v) => typeof v === 'object' && v !== null,
  fetchEndpoint: (v) => typeof v === 'string' || typeof v === 'function',
  fetchFunction: (v) => typeof v === 'function',
}

/** Checks the Neon options both transports take; no I/O. */
export function checkNeonOptions(config: DriverConfig): void {
  checkOptionKinds(config, KINDS, 'Neon', 'See the neon() options in @lazydb/core/neon')
}
