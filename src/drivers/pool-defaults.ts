// How big a TCP driver's pool is and how long its idle connections live, per platform, as each
// platform advises. Every value is a default: the database's own `max` / `idleTimeoutMillis` win.
import { configError } from '../errors.js'
import type { DriverConfig } from './contract.js'

/**
 * Cloudflare Workers allow 6 simultaneous open connections per request; Hyperdrive's guidance is a
 * client per request with at most 5, leaving one for the Worker's own fetches.
 */
export const MAX_CONNECTIONS_PER_REQUEST = 5

export interface PoolDefaults {
  /** Most connections the pool opens. */
  max: number
  /** A pooled connection idle this long is closed by the pool itself. */
  idleTimeoutMillis: number
}

/**
 * - request scope (Workers, Vercel Edge): a pool per request of at most 5; it ends with the request.
 * - AWS Lambda and Netlify: one invocation at a time per instance, so a pool of 2 (a statement beside
 *   an open transaction) per instance, kept warm; a freeze leaves it stale, and lazydb replaces it.
 * - Vercel Node (Fluid: many invocations per instance): a warm pool whose idle connections close
 *   after 5 s, the instance kept alive through `waitUntil` until they have (attachDatabasePool's rule).
 * - plain Node: a warm pool of 10 (pg's default), idle connections closed after 10 s.
 */
export function poolDefaults(config: DriverConfig): PoolDefaults {
  const lifetime = config.lifetime
  if (lifetime?.scope === 'request') return { max: MAX_CONNECTIONS_PER_REQUEST, idleTimeoutMillis: 10_000 }
  switch (lifetime?.platform) {
    case 'aws-lambda':
    case 'netlify':
      return { max: 2, idleTimeoutMillis: 10_000 }
    case 'vercel-node':
      return { max: 10, idleTimeoutMillis: 5_000 }
    default:
      return { max: 10, idleTimeoutMillis: 10_000 }
  }
}

/** A pool's `max`: the database's own, never above 5 in a request-scoped pool on Workers. No I/O. */
export function poolMax(config: DriverConfig): number {
  const given = config.options.max
  const cap = config.lifetime?.platform === 'cloudflare' ? MAX_CONNECTIONS_PER_REQUEST : Number.POSITIVE_INFINITY
  if (given === undefined) return Math.min(poolDefaults(config).max, cap)
  if (!Number.isInteger(given) || (given as number) < 1) {
    throw configError(config.alias, `max must be a whole number ≥ 1 (got ${typeof given})`, 'Pass e.g. { max: 5 }')
  }
  if ((given as number) > cap) {
    throw configError(
      config.alias,
      `max ${given} is above the ${cap} connections a Worker may hold open in one request (it allows 6 in all)`,
      `Pass max: ${cap} or less`,
    )
  }
  return given as number
}
