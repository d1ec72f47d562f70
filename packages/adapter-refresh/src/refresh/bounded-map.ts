/**
 * The per-process memories of the refresh path (refused refresh tokens, cool-downs, issued tokens the
 * database did not store) are keyed by account: without a bound they would grow with every account a
 * long-lived process ever touches. Each is a `BoundedMap`: at most `limit` entries, the oldest evicted
 * first (a Map iterates in insertion order; setting a key again makes it the newest).
 */

/** Most refused refresh tokens remembered (refresh.ts without `reauthColumn`). */
export const MAX_REFUSED_TOKENS = 10_000
/** Most accounts in a cool-down after a failed background refresh (refreshExpiring). */
export const MAX_COOLDOWNS = 10_000
/** Most sets of issued tokens kept while the database refuses to store them (issued-tokens.ts). */
export const MAX_KEPT_TOKEN_SETS = 10_000

/** A Map of at most `limit` entries; setting a new key when full evicts the oldest. */
export class BoundedMap<K, V> {
  readonly #entries = new Map<K, V>()

  constructor(readonly limit: number) {}

  get size(): number {
    return this.#entries.size
  }

  get(key: K): V | undefined {
    return this.#entries.get(key)
  }

  has(key: K): boolean {
    return this.#entries.has(key)
  }

  set(key: K, value: V): void {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    if (this.#entries.size > this.limit) this.#entries.delete(this.#entries.keys().next().value as K)
  }

  delete(key: K): boolean {
    return this.#entries.delete(key)
  }
}
