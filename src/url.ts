import { redactText, secretVariants } from './redact.js'
import type { DriverName } from './types.js'

const SECRET_PARAMS = ['authToken', 'auth_token', 'token', 'password', 'apiKey', 'api_key', 'secret']

export type UrlCheck = { ok: true; driver: DriverName } | { ok: false; problem: string }

/** Picks the driver a URL selects by its scheme, without any I/O. */
export function driverForUrl(url: string): UrlCheck {
  if (url === ':memory:' || url.startsWith('file:')) return { ok: true, driver: 'libsql' }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase()
  if (scheme === undefined) return { ok: false, problem: 'is not a URL (expected scheme://host/…, file:path or :memory:)' }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return { ok: false, problem: `is not a valid ${scheme}:// URL` }
  }
  if (parsed.hostname === '') return { ok: false, problem: 'has no host' }
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return { ok: true, driver: parsed.searchParams.get('transport') === 'ws' ? 'neon-ws' : 'neon-http' }
    case 'mysql':
      return { ok: true, driver: 'planetscale' }
    case 'libsql':
    case 'http':
    case 'https':
    case 'ws':
    case 'wss':
      return { ok: true, driver: 'libsql' }
    default:
      return { ok: false, problem: `has the unknown scheme "${scheme}:" (use postgres://, mysql://, libsql://, http(s)://, ws(s)://, file: or :memory:)` }
  }
}

// scheme:[//]user:password@ — read from the raw text too, so a URL the parser rejects still hides it.
const TOKEN_PARAM = /([?&#](?:authToken|auth_token|token|password|apiKey|api_key|secret)=)[^&#]*/g
const USERINFO = /^([a-z][a-z0-9+.-]*:(?:\/\/)?)([^/?#@]*?):([^/?#]*)@/i
const SCHEME = /^[a-z][a-z0-9+.-]*:(?:\/\/)?/i

/** The URL with its password and token parameters replaced by `***`. */
export function maskUrl(url: string): string {
  let masked = url.replace(USERINFO, '$1$2:***@').replace(TOKEN_PARAM, '$1***')
  if (url.includes('://')) {
    try {
      const parsed = new URL(url)
      if (parsed.password !== '') parsed.password = '***'
      for (const name of SECRET_PARAMS) if (parsed.searchParams.has(name)) parsed.searchParams.set(name, '***')
      masked = parsed.toString()
    } catch {}
  }
  // Whatever the parser made of an odd URL, no secret it holds survives.
  return redactText(masked, urlSecrets(url).flatMap(secretVariants))
}

/**
 * The secret strings inside a URL: its password and token-like parameters, read both by the URL
 * parser and from the raw text (everything between the first ":" of the user info and the last
 * "@"), so a URL the parser reads differently still has its secret found.
 */
export function urlSecrets(url: string): string[] {
  const found: string[] = []
  const scheme = SCHEME.exec(url)?.[0]
  if (scheme !== undefined) {
    const rest = url.slice(scheme.length)
    const userinfo = rest.slice(0, Math.max(0, rest.lastIndexOf('@')))
    const colon = userinfo.indexOf(':')
    if (colon >= 0 && colon < userinfo.length - 1) found.push(userinfo.slice(colon + 1))
    const strict = USERINFO.exec(url)?.[3]
    if (strict) found.push(strict)
  }
  for (const match of url.matchAll(TOKEN_PARAM)) {
    const value = match[0].slice(match[1]!.length)
    if (value) found.push(value)
  }
  if (url.includes('://')) {
    try {
      const parsed = new URL(url)
      if (parsed.password !== '') found.push(parsed.password)
      for (const name of SECRET_PARAMS) {
        const value = parsed.searchParams.get(name)
        if (value) found.push(value)
      }
    } catch {}
  }
  return found
}

const ACCEPTS: Record<DriverName, RegExp> = {
  'neon-http': /^postgres(ql)?:\/\//i,
  'neon-ws': /^postgres(ql)?:\/\//i,
  planetscale: /^(mysql|https?):\/\//i,
  libsql: /^(libsql|https?|wss?):\/\/|^file:|^:memory:$/i,
}

/** Whether a driver named with `driver:` can take this URL at all. */
export function driverAcceptsUrl(driver: DriverName, url: string): boolean {
  return ACCEPTS[driver].test(url)
}
