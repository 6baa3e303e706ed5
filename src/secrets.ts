// A database's secrets (password, tokens, keys, what a token function returned) and the masking of
// every text that leaves lazydb. The strings live in a private field, so no inspect or JSON of an
// object holding a `Secrets` shows them.

const MASK = '***'
// Shorter secrets are masked only as whole tokens, so that a one-letter password does not turn
// every occurrence of that letter in a message into the mask.
const ANYWHERE_FROM = 6
const masking = new WeakSet<object>()

/** The secrets of one database; `add` takes more as they appear (a token function's result). */
export class Secrets {
  #variants: string[] = []
  #short: RegExp | undefined = undefined
  /** Secrets kept elsewhere that this one masks too (what a shared token function returned). */
  #linked: Secrets[] | undefined = undefined

  constructor(secrets: Iterable<string> = []) {
    for (const secret of secrets) this.add(secret)
  }

  /** Adds a secret with its other spellings (URL-encoded, decoded). */
  add(secret: unknown): void {
    if (typeof secret !== 'string' || secret === '') return
    const spellings = new Set([secret, encodeURIComponent(secret)])
    try {
      const decoded = decodeURIComponent(secret)
      spellings.add(decoded).add(encodeURIComponent(decoded))
    } catch {}
    let changed = false
    for (const spelling of spellings) {
      if (spelling === '' || this.#variants.includes(spelling)) continue
      this.#variants.push(spelling)
      changed = true
    }
    if (!changed) return
    this.#variants.sort((a, b) => b.length - a.length)
    const short = this.#variants.filter((v) => v.length < ANYWHERE_FROM).map(escapeRegExp)
    this.#short =
      short.length === 0 ? undefined : new RegExp(`(?<![A-Za-z0-9])(?:${short.join('|')})(?![A-Za-z0-9])`, 'g')
  }

  get size(): number {
    return this.#variants.length
  }

  /** Masks `other`'s secrets too, including those it learns later. */
  link(other: Secrets): void {
    const linked = (this.#linked ??= [])
    if (!linked.includes(other)) linked.push(other)
  }

  /** The text with every secret replaced by `***`. */
  mask(text: string): string {
    let out = text
    if (this.#linked !== undefined) for (const other of this.#linked) out = other.mask(out)
    for (const secret of this.#variants) {
      if (secret.length >= ANYWHERE_FROM && out.includes(secret)) out = out.split(secret).join(MASK)
    }
    return this.#short === undefined ? out : out.replace(this.#short, MASK)
  }

  /**
   * Masks the secrets in an error and everything it links to (cause, nested errors, string fields),
   * in place, so the driver's error can be kept as `cause` without carrying a secret.
   */
  maskError(error: unknown): void {
    if (this.#variants.length > 0 || this.#linked !== undefined) maskDeep(error, this, 0)
  }
}

function maskDeep(value: unknown, secrets: Secrets, depth: number): void {
  if (depth > 8 || typeof value !== 'object' || value === null || masking.has(value)) return
  masking.add(value)
  try {
    const record = value as Record<string, unknown>
    for (const key of Object.getOwnPropertyNames(value)) {
      let field: unknown
      try {
        field = record[key]
      } catch {
        continue
      }
      if (typeof field === 'string') {
        const masked = secrets.mask(field)
        if (masked !== field) trySet(record, key, masked)
      } else if (typeof field === 'object' && field !== null) {
        maskDeep(field, secrets, depth + 1)
      }
    }
    // `stack` is often an accessor computed from the message: recompute so it reflects the mask.
    if (value instanceof Error && typeof value.stack === 'string') {
      const masked = secrets.mask(value.stack)
      if (masked !== value.stack) trySet(record, 'stack', masked)
    }
  } finally {
    masking.delete(value)
  }
}

function trySet(record: Record<string, unknown>, key: string, value: string): void {
  try {
    const enumerable = Object.prototype.propertyIsEnumerable.call(record, key)
    Object.defineProperty(record, key, { value, writable: true, configurable: true, enumerable })
  } catch {
    try {
      record[key] = value
    } catch {}
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Base64 of the UTF-8 bytes, as HTTP Basic auth sends `user:password`. */
export function base64(text: string): string {
  const bytes = new TextEncoder().encode(text)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}
