// Connect retries and their backoff: transient failures (refused, reset, timeout, too many
// connections) are retried with full-jitter exponential backoff until `attempts` or `totalMs` runs
// out. The same backoff paces the re-run of a statement whose connection was gone before it was sent.
import type { Driver, DriverClient, DriverConfig, ErrorInfo } from './drivers/contract.js'
import { LazyDbError } from './errors.js'
import type { RetryOptions } from './types.js'

export type RetryPolicy = Readonly<Required<RetryOptions>>

/** The delay before retry `attempt` (1-based): half the ceiling plus up to half again, at random. */
export function backoffDelay(attempt: number, policy: RetryPolicy): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The delay before retry `attempt`, or undefined when none is left: the attempts are used up, or
 * `totalMs` since `started` has passed. The last delay is cut to what is left of `totalMs`, so the
 * last try happens when the time runs out, not a random while before.
 */
export function retryDelay(attempt: number, started: number, policy: RetryPolicy): number | undefined {
  if (attempt >= policy.attempts) return undefined
  const remaining = policy.totalMs - (Date.now() - started)
  if (remaining <= 0) return undefined
  return Math.min(backoffDelay(attempt, policy), remaining)
}

export interface ConnectReport {
  classify(error: unknown): ErrorInfo
  /** Reports retry `attempt` and waits `delayMs` before it. */
  pause(attempt: number, delayMs: number, error: unknown): Promise<void>
  /** The error to throw once no retry is left (attempts made so far). */
  failed(error: unknown, attempts: number): LazyDbError
}

/** The least time one connect attempt gets, however little of `totalMs` is left. */
const MIN_ATTEMPT_MS = 1000

/**
 * `driver.connect`, retried while the failure is transient and the policy allows. An attempt that
 * has not settled when what is left of `totalMs` (at least MIN_ATTEMPT_MS) has passed fails as a
 * timeout (a server that accepts connections and never answers); what it makes later is closed.
 */
export async function connectWithRetry(
  driver: Driver,
  config: DriverConfig,
  policy: RetryPolicy,
  report: ConnectReport,
): Promise<DriverClient> {
  const started = Date.now()
  for (let attempt = 1; ; attempt++) {
    try {
      const budget = Math.max(MIN_ATTEMPT_MS, policy.totalMs - (Date.now() - started))
      return await withinTime(driver.connect(config), budget)
    } catch (error) {
      if (error instanceof LazyDbError) throw error
      const delay = report.classify(error).transient === true ? retryDelay(attempt, started, policy) : undefined
      if (delay === undefined) throw report.failed(error, attempt)
      await report.pause(attempt, delay, error)
    }
  }
}

/** `connecting`, or an ETIMEDOUT error once `ms` have passed; a client that arrives after that is closed. */
function withinTime(connecting: Promise<DriverClient>, ms: number): Promise<DriverClient> {
  return new Promise((resolve, reject) => {
    let late = false
    const timer = setTimeout(() => {
      late = true
      reject(Object.assign(new Error(`connect ETIMEDOUT: no answer within ${ms} ms`), { code: 'ETIMEDOUT' }))
    }, ms)
    connecting.then(
      (client) => {
        clearTimeout(timer)
        if (late) void client.close(true).catch(() => undefined)
        else resolve(client)
      },
      (error: unknown) => {
        clearTimeout(timer)
        if (!late) reject(error)
      },
    )
  })
}
