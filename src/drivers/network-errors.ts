import type { ErrorInfo } from './driver.js'

// The connection was never made, so nothing was sent: safe to retry, worth waiting for.
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EAI_AGAIN', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH'])
// The connection broke with a request possibly on the wire.
const BROKEN = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED'])

/** The first network error code (`ECONNREFUSED`, …) found on an error or its cause chain. */
export function networkCode(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 6 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && (NOT_CONNECTED.has(code) || BROKEN.has(code))) return code
    const errors = (current as { errors?: unknown }).errors
    if (Array.isArray(errors)) for (const inner of errors) {
      const found = networkCode(inner)
      if (found !== undefined) return found
    }
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/** What a network error says about a statement: never sent (retry) or maybe run (don't). */
export function classifyNetwork(error: unknown): ErrorInfo | undefined {
  const code = networkCode(error)
  if (code === undefined) {
    // fetch() rejecting with no socket error code never reached a server (bad port, DNS, TLS setup).
    const message = (error as { message?: unknown } | null)?.message
    return message === 'fetch failed' ? { notSent: true } : undefined
  }
  return classifyNetworkCode(code)!
}

/** What one network error code says, as `classifyNetwork`; undefined for a code it does not know. */
export function classifyNetworkCode(code: string): ErrorInfo | undefined {
  if (NOT_CONNECTED.has(code)) return { notSent: true, transient: true }
  if (BROKEN.has(code)) return { lostMaybeRun: true, transient: true }
  return undefined
}
