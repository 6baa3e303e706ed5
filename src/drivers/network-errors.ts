import type { ErrorInfo } from './contract.js'

// The connection was never made, so nothing was sent: safe to retry, worth waiting for.
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
])
// The connection broke with a request possibly on the wire.
const BROKEN = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED'])

interface NetworkFailure {
  code: string
  /** `host:port` of the failed connect, where the error says. */
  address: string | undefined
}

/** The first network error (`ECONNREFUSED`, …) found on an error or its cause chain. */
function networkFailure(error: unknown, depth = 0): NetworkFailure | undefined {
  let current: unknown = error
  for (; depth < 6 && typeof current === 'object' && current !== null; depth++) {
    const e = current as { code?: unknown; address?: unknown; port?: unknown; errors?: unknown; cause?: unknown }
    if (typeof e.code === 'string' && (NOT_CONNECTED.has(e.code) || BROKEN.has(e.code))) {
      const address =
        typeof e.address === 'string'
          ? e.port === undefined
            ? e.address
            : `${e.address}:${String(e.port)}`
          : undefined
      return { code: e.code, address }
    }
    if (Array.isArray(e.errors)) {
      for (const inner of e.errors) {
        const found = networkFailure(inner, depth + 1)
        if (found !== undefined) return found
      }
    }
    current = e.cause
  }
  return undefined
}

/** What a network error says about a statement: never sent (retry) or maybe run (don't). */
export function classifyNetwork(error: unknown): ErrorInfo | undefined {
  const failure = networkFailure(error)
  if (failure === undefined) {
    // fetch() rejecting with no socket error code never reached a server (bad port, DNS, TLS setup).
    const message = (error as { message?: unknown } | null)?.message
    return message === 'fetch failed' ? { notSent: true } : undefined
  }
  const info = classifyNetworkCode(failure.code)!
  return failure.address === undefined ? info : { ...info, address: failure.address }
}

/** What one network error code says, as `classifyNetwork`; undefined for a code it does not know. */
export function classifyNetworkCode(code: string): ErrorInfo | undefined {
  if (NOT_CONNECTED.has(code)) return { notSent: true, transient: true }
  if (BROKEN.has(code)) return { lostMaybeRun: true, transient: true }
  return undefined
}
