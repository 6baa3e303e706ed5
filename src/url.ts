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

/** The URL with its password and token parameters replaced by `***`. */
export function maskUrl(url: string): string {
  if (!url.includes('://')) return url
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    for (const name of SECRET_PARAMS) if (parsed.searchParams.has(name)) parsed.searchParams.set(name, '***')
    return parsed.toString()
  } catch {
    // Unparseable: keep only what cannot hold a secret.
    return url.replace(/\/\/[^@/]*@/, '//***@').replace(/\?.*$/, '?***')
  }
}

/** The secret strings inside a URL: its password and token-like query parameters. */
export function urlSecrets(url: string): string[] {
  if (!url.includes('://')) return []
  const found: string[] = []
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') found.push(parsed.password)
    for (const name of SECRET_PARAMS) {
      const value = parsed.searchParams.get(name)
      if (value) found.push(value)
    }
  } catch {
    const userinfo = /\/\/([^@/]*)@/.exec(url)?.[1]
    const password = userinfo?.includes(':') ? userinfo.slice(userinfo.indexOf(':') + 1) : undefined
    if (password) found.push(password)
  }
  return found
}
