// Cloudflare Hyperdrive bindings (`env.HYPERDRIVE`): an object whose `connectionString` is the URL to
// use, accepted wherever a URL is. Its password is masked like any other, as the URL's.

/** A Hyperdrive binding, or any object that hands out a `connectionString` the same way. */
export interface ConnectionStringBinding {
  readonly connectionString: string
}

/** Whether a value is a binding: an object (not a plain `{ url }` config) with a string `connectionString`. */
export function isConnectionStringBinding(value: unknown): value is ConnectionStringBinding {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { connectionString?: unknown }).connectionString === 'string' &&
    (value as { url?: unknown }).url === undefined
  )
}

/** A binding becomes its URL, `{ url: binding, … }` becomes `{ url: string, … }`; anything else stays. */
export function fromBinding(value: unknown): unknown {
  if (isConnectionStringBinding(value)) return value.connectionString
  if (typeof value === 'object' && value !== null && isConnectionStringBinding((value as { url?: unknown }).url)) {
    return { ...value, url: (value as { url: ConnectionStringBinding }).url.connectionString }
  }
  return value
}
