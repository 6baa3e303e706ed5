/** Re-checks until `check` holds or the time is up (servers release connections asynchronously). */
export async function poll(check: () => Promise<boolean>, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return check()
}

/** mysql2 gives Buffers where the drivers give Uint8Arrays: compare bytes, not classes. */
export const plainBytes = (row: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Buffer.isBuffer(v) ? new Uint8Array(v) : v]))
