const MASK = '***'
const seen = new WeakSet<object>()

/** Every spelling of a secret that could show up in a driver's text. */
export function secretVariants(secret: string): string[] {
  if (secret.length < 3) return []
  const variants = new Set([secret])
  try {
    variants.add(decodeURIComponent(secret))
  } catch {}
  variants.add(encodeURIComponent(secret))
  return [...variants].filter((v) => v.length >= 3).sort((a, b) => b.length - a.length)
}

export function redactText(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(MASK)
  return out
}

/**
 * Masks the secrets in an error and everything it links to (cause, nested errors, string fields),
 * in place, so the driver's error can be kept as `cause` without carrying a password.
 */
export function redactError(error: unknown, secrets: readonly string[], depth = 0): void {
  if (secrets.length === 0 || depth > 6 || typeof error !== 'object' || error === null) return
  if (seen.has(error)) return
  seen.add(error)
  const record = error as Record<string, unknown>
  for (const key of Object.getOwnPropertyNames(error)) {
    let value: unknown
    try {
      value = record[key]
    } catch {
      continue
    }
    if (typeof value === 'string') {
      const masked = redactText(value, secrets)
      if (masked !== value) trySet(record, key, masked)
    } else if (typeof value === 'object' && value !== null) {
      redactError(value, secrets, depth + 1)
    }
  }
  // `stack` is often an own accessor computed from message; recompute so it reflects the mask.
  if (error instanceof Error && typeof error.stack === 'string') {
    const masked = redactText(error.stack, secrets)
    if (masked !== error.stack) trySet(record, 'stack', masked)
  }
  seen.delete(error)
}

function trySet(record: Record<string, unknown>, key: string, value: string): void {
  try {
    Object.defineProperty(record, key, { value, writable: true, configurable: true, enumerable: Object.prototype.propertyIsEnumerable.call(record, key) })
  } catch {
    try {
      record[key] = value
    } catch {}
  }
}
