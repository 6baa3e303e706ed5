import { base64, Secrets } from './secrets.js'
import type { DriverName } from './types.js'

export type UrlCheck = { ok: true; driver: DriverName } | { ok: false; problem: string }

/** Picks the driver a URL selects by its scheme, without any I/O. */
export function driverForUrl(url: string): UrlCheck {
  if (url === ':memory:' || url.startsWith('file:')) return { ok: true, driver: 'libsql' }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase()
  if (scheme === undefined)
    return { ok: false, problem: 'is not a URL (expected scheme://host/…, file:path or :memory:)' }
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
      return { ok: true, driver: postgresDriver(parsed) }
    case 'mysql':
      return { ok: true, driver: isPlanetscaleHost(parsed.hostname) ? 'planetscale' : 'mysql2' }
    case 'libsql':
    case 'http':
    case 'https':
    case 'ws':
    case 'wss':
      return { ok: true, driver: 'libsql' }
    default:
      return {
        ok: false,
        problem:
          `has the unknown scheme "${scheme}:" ` +
          '(use postgres://, mysql://, libsql://, http(s)://, ws(s)://, file: or :memory:)',
      }
  }
}

/** Neon's hosts: `*.neon.tech`. Its serverless driver speaks HTTP/WebSocket to them, which other hosts lack. */
export function isNeonHost(hostname: string): boolean {
  return /(^|\.)neon\.tech$/i.test(hostname)
}

/** PlanetScale's hosts: `*.psdb.cloud`, the only ones its HTTP API answers on. */
export function isPlanetscaleHost(hostname: string): boolean {
  return /(^|\.)psdb\.cloud$/i.test(hostname)
}

/**
 * A Neon host → Neon over HTTP (`?transport=ws`: its WebSocket Pool); `?transport=` on any host asks
 * for Neon too. Any other Postgres host → `pg`, a TCP driver that can reach it.
 */
function postgresDriver(parsed: URL): DriverName {
  const transport = parsed.searchParams.get('transport')
  if (transport === 'ws') return 'neon-ws'
  return transport === 'http' || isNeonHost(parsed.hostname) ? 'neon-http' : 'pg'
}

/** A query parameter or option whose name looks like a credential, whatever its case or separators. */
export const CREDENTIAL_NAME = /pass|pwd|secret|token|auth|key|credential|signature/i

// A credential-looking parameter in the raw text, so a URL the parser rejects still hides it.
const CREDENTIAL_PARAM = /([?&;#][^=&#;]*(?:pass|pwd|secret|token|auth|key|credential|signature)[^=&#;]*=)[^&#;]*/gi
// scheme:[//]user:password@
const USERINFO = /^([a-z][a-z0-9+.-]*:(?:\/\/)?)([^/?#@]*?):([^/?#]*)@/i
const SCHEME = /^[a-z][a-z0-9+.-]*:(?:\/\/)?/i

/** The URL with its password and every credential-looking parameter replaced by `***`. */
export function maskUrl(url: string): string {
  let masked = url.replace(USERINFO, '$1$2:***@').replace(CREDENTIAL_PARAM, '$1***')
  if (url.includes('://')) {
    try {
      const parsed = new URL(url)
      if (parsed.password !== '') parsed.password = '***'
      for (const name of [...parsed.searchParams.keys()]) {
        if (CREDENTIAL_NAME.test(name)) parsed.searchParams.set(name, '***')
      }
      masked = parsed.toString()
    } catch {}
  }
  // Whatever the parser made of an odd URL, no secret it holds survives.
  return new Secrets(urlSecrets(url)).mask(masked)
}

/**
 * The secret strings inside a URL: its password (also as HTTP Basic credentials) and the values of
 * credential-looking parameters, read both by the URL parser and from the raw text (everything
 * between the first ":" of the user info and the last "@"), so a URL the parser reads differently
 * still has its secret found.
 */
export function urlSecrets(url: string): string[] {
  const found: string[] = []
  const scheme = SCHEME.exec(url)?.[0]
  let user = ''
  if (scheme !== undefined) {
    const rest = url.slice(scheme.length)
    const userinfo = rest.slice(0, Math.max(0, rest.lastIndexOf('@')))
    const colon = userinfo.indexOf(':')
    if (colon >= 0 && colon < userinfo.length - 1) {
      user = userinfo.slice(0, colon)
      found.push(userinfo.slice(colon + 1))
      // An unencoded "@" may end the password earlier than the last one does: each reading is a secret.
      for (let at = userinfo.indexOf('@', colon + 1); at > colon + 1; at = userinfo.indexOf('@', at + 1)) {
        found.push(userinfo.slice(colon + 1, at))
      }
    }
    const strict = USERINFO.exec(url)
    if (strict?.[3]) found.push(strict[3])
  }
  for (const match of url.matchAll(CREDENTIAL_PARAM)) {
    const value = match[0].slice(match[1]!.length)
    if (value) found.push(value)
  }
  if (url.includes('://')) {
    try {
      const parsed = new URL(url)
      if (parsed.password !== '') found.push(parsed.password)
      for (const [name, value] of parsed.searchParams) if (value && CREDENTIAL_NAME.test(name)) found.push(value)
    } catch {}
  }
  const password = found[0]
  if (password !== undefined) found.push(...basicCredentials(user, password))
  return found
}

/** `Basic base64(user:password)`, as HTTP drivers (PlanetScale) send the URL's credentials. */
function basicCredentials(user: string, password: string): string[] {
  const forms = new Set<string>()
  for (const [u, p] of [
    [user, password],
    [safeDecode(user), safeDecode(password)],
  ] as const) {
    try {
      forms.add(base64(`${u}:${p}`))
    } catch {}
  }
  return [...forms]
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** The `host:port` a URL names, for messages (never the credentials). */
export function urlAddress(url: string): string | undefined {
  try {
    const parsed = new URL(url)
    return parsed.host === '' ? undefined : parsed.host
  } catch {
    return undefined
  }
}

const ACCEPTS: Record<DriverName, RegExp> = {
  'neon-http': /^postgres(ql)?:\/\//i,
  'neon-ws': /^postgres(ql)?:\/\//i,
  planetscale: /^(mysql|https?):\/\//i,
  libsql: /^(libsql|https?|wss?):\/\/|^file:|^:memory:$/i,
  pg: /^postgres(ql)?:\/\//i,
  postgres: /^postgres(ql)?:\/\//i,
  mysql2: /^mysql:\/\//i,
}

/** Whether a driver named with `driver:` can take this URL at all. */
export function driverAcceptsUrl(driver: DriverName, url: string): boolean {
  return ACCEPTS[driver].test(url)
}
