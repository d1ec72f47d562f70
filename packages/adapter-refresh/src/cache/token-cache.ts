/**
 * The opt-in in-process cache of fresh access tokens (`refresh.cache`): a `getAccessToken` for a token
 * this process has read recently is answered from memory, with no database round trip.
 *
 * What keeps it correct:
 * - it never serves a token within the refresh skew of its expiry (the caller's freshness check runs on
 *   every hit), nor an entry older than `maxAgeMs`;
 * - every write this process makes drops the user's entries at once (read-your-writes in-process);
 * - writes elsewhere drop them when the invalidation channel says so (PostgreSQL: a trigger's NOTIFY,
 *   see pg-notify.ts); while the channel is not listening, the cache serves nothing;
 * - a database read races an invalidation: each read holds a ticket, an invalidation of that user
 *   voids the tickets in flight, and a voided ticket's result is not cached (it may predate the write).
 * Without a channel the bound on staleness for other processes' writes is `maxAgeMs`.
 */
import { InvalidOptionsError } from "../errors.js"

/** The `refresh.cache` option: an in-process cache of access tokens, kept true by `invalidation`. */
export interface TokenCacheOptions {
  /** Most entries kept; the least recently used go first. Default 10 000. */
  maxEntries?: number
  /**
   * Longest an entry is served after it was read from the database, ms. Without `invalidation` this is
   * the bound on how long another process's write may go unseen. Default 1 000 without `invalidation`,
   * 60 000 with it (a safety net for a channel that died silently).
   */
  maxAgeMs?: number
  /** How this process hears of writes made elsewhere (see `pgNotifyInvalidation`). */
  invalidation?: TokenCacheInvalidation
}

/** What an invalidation channel tells the cache. */
export interface InvalidationListener {
  /** Some row of this user (accounts or sessions) changed elsewhere. */
  user(userId: string): void
  /** Anything may have changed (reconnected after a gap, TRUNCATE): drop every entry. */
  all(): void
  /** Whether writes elsewhere are being heard. While not, the cache serves and stores nothing. */
  listening(live: boolean): void
  /** The channel failed to start or restart; `ready()` rejects with it until it listens again. */
  failed(error: Error): void
}

/** A cross-process invalidation channel. */
export interface TokenCacheInvalidation {
  /** Starts delivering to `listener`; returns how to stop. Called once per adapter. */
  subscribe(listener: InvalidationListener): { close(): Promise<void> }
}

/** What `adapter.tokenCache` exposes. */
export interface TokenCacheHandle {
  /** Resolves once the cache may serve (the channel listens); rejects with the channel's error. */
  ready(timeoutMs?: number): Promise<void>
  /** Counts since start. */
  stats(): TokenCacheStats
  /** Drops every entry (this process). */
  clear(): void
  /** Stops the invalidation channel (releases its connection); the cache serves nothing afterwards. */
  close(): Promise<void>
}

/** Counts of the token cache since it started, from `adapter.tokenCache.stats()`. */
export interface TokenCacheStats {
  entries: number
  hits: number
  misses: number
  /** Entries dropped by an invalidation (this process's writes or the channel's). */
  invalidations: number
  /** Results not stored because an invalidation of their user arrived while they were read. */
  voidedReads: number
  evictions: number
  listening: boolean
}

/** A read in flight: voided by an invalidation of its user before its result is stored. */
export interface ReadTicket {
  readonly userId: string
  voided: boolean
}

interface Entry<V> {
  userId: string
  value: V
  storedAt: number
  /** provider + providerAccountId of the cached account, for invalidation by account key. */
  accountId: string
}

const DEFAULT_MAX_ENTRIES = 10_000

function checkPositiveInteger(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidOptionsError(
      `refresh.cache.${name}`,
      `withTokenSync: option refresh.cache.${name} must be a positive integer.`,
    )
  }
  return value
}

/** Checks `refresh.cache` at construction (InvalidOptionsError naming the option). */
export function checkTokenCacheOptions(options: unknown): TokenCacheOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(
      "refresh.cache",
      "withTokenSync: option refresh.cache must be an object ({} for the defaults).",
    )
  }
  const { maxEntries, maxAgeMs, invalidation } = options as Record<string, unknown>
  checkPositiveInteger("maxEntries", maxEntries)
  checkPositiveInteger("maxAgeMs", maxAgeMs)
  if (
    invalidation !== undefined &&
    (typeof invalidation !== "object" ||
      invalidation === null ||
      typeof (invalidation as { subscribe?: unknown }).subscribe !== "function")
  ) {
    throw new InvalidOptionsError(
      "refresh.cache.invalidation",
      "withTokenSync: option refresh.cache.invalidation must have " +
        "a subscribe(listener) method (see pgNotifyInvalidation).",
    )
  }
  return options as TokenCacheOptions
}

/** The index key of one linked account: JSON, not a separator, so no two (provider, account id) pairs collide. */
export const accountIdOf = (provider: string, providerAccountId: string): string =>
  JSON.stringify([provider, providerAccountId])

/**
 * The cache itself, independent of what it holds (the engine stores `AccessTokenResult`s). Entries are
 * keyed by the caller's question (user, provider, account id or none), indexed by user for invalidation.
 */
export class TokenCache<V> {
  readonly maxEntries: number
  readonly maxAgeMs: number
  /** Map order is recency order: a hit moves its entry to the end; eviction takes the first. */
  private readonly entries = new Map<string, Entry<V>>()
  private readonly keysByUser = new Map<string, Set<string>>()
  private readonly keysByAccount = new Map<string, Set<string>>()
  private readonly readsByUser = new Map<string, Set<ReadTicket>>()
  private live: boolean
  private closed = false
  private readonly counts = { hits: 0, misses: 0, invalidations: 0, voidedReads: 0, evictions: 0 }

  constructor(
    options: TokenCacheOptions,
    private readonly now: () => number,
  ) {
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES
    this.maxAgeMs = options.maxAgeMs ?? (options.invalidation ? 60_000 : 1_000)
    // Without a channel there is nothing to wait for; with one, nothing is served until it listens.
    this.live = !options.invalidation
  }

  /**
   * The key of a question. JSON, not parts joined with a separator: ids holding the separator (a
   * providerAccountId is the provider's word) could otherwise make two users' questions one key.
   */
  static keyOf(userId: string, provider: string, providerAccountId: string | undefined): string {
    return JSON.stringify([userId, provider, providerAccountId ?? null])
  }

  /** The entry for `key` when it is young enough and `usable` accepts it; else drops it. */
  get(key: string, usable: (value: V) => boolean): V | undefined {
    const entry = this.live ? this.entries.get(key) : undefined
    if (!entry) {
      this.counts.misses++
      return undefined
    }
    if (this.now() - entry.storedAt > this.maxAgeMs || !usable(entry.value)) {
      this.delete(key, entry)
      this.counts.misses++
      return undefined
    }
    this.entries.delete(key)
    this.entries.set(key, entry)
    this.counts.hits++
    return entry.value
  }

  /** Call before reading the database for `userId`; pass the ticket to `put` or `endRead`. */
  beginRead(userId: string): ReadTicket {
    const ticket: ReadTicket = { userId, voided: !this.live }
    let reads = this.readsByUser.get(userId)
    if (!reads) this.readsByUser.set(userId, (reads = new Set()))
    reads.add(ticket)
    return ticket
  }

  endRead(ticket: ReadTicket): void {
    const reads = this.readsByUser.get(ticket.userId)
    if (!reads) return
    reads.delete(ticket)
    if (reads.size === 0) this.readsByUser.delete(ticket.userId)
  }

  /** Stores what a read returned, unless an invalidation of its user arrived meanwhile. Ends the read. */
  put(ticket: ReadTicket, key: string, accountId: string, value: V): void {
    this.endRead(ticket)
    if (ticket.voided || !this.live || this.closed) {
      if (ticket.voided) this.counts.voidedReads++
      return
    }
    const old = this.entries.get(key)
    if (old) this.delete(key, old)
    this.entries.set(key, { userId: ticket.userId, value, storedAt: this.now(), accountId })
    addTo(this.keysByUser, ticket.userId, key)
    addTo(this.keysByAccount, accountId, key)
    while (this.entries.size > this.maxEntries) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, Entry<V>]
      this.delete(oldestKey, oldest)
      this.counts.evictions++
    }
  }

  /** Drops the user's entries and voids the user's reads in flight. */
  invalidateUser(userId: string): void {
    const reads = this.readsByUser.get(userId)
    if (reads) for (const ticket of reads) ticket.voided = true
    const keys = this.keysByUser.get(userId)
    if (!keys) return
    for (const key of [...keys]) {
      const entry = this.entries.get(key)
      if (entry) {
        this.delete(key, entry)
        this.counts.invalidations++
      }
    }
  }

  /** Drops the entries of one linked account (an unlink whose owner is not known). */
  invalidateAccount(provider: string, providerAccountId: string): void {
    const keys = this.keysByAccount.get(accountIdOf(provider, providerAccountId))
    if (!keys) return
    for (const key of [...keys]) {
      const entry = this.entries.get(key)
      if (entry) this.invalidateUser(entry.userId)
    }
  }

  /** Drops everything and voids every read in flight. */
  invalidateAll(): void {
    for (const reads of this.readsByUser.values()) for (const ticket of reads) ticket.voided = true
    this.counts.invalidations += this.entries.size
    this.entries.clear()
    this.keysByUser.clear()
    this.keysByAccount.clear()
  }

  setListening(live: boolean): void {
    // Either way the entries may be stale: a gap in listening may have missed invalidations.
    this.invalidateAll()
    this.live = live && !this.closed
  }

  close(): void {
    this.closed = true
    this.setListening(false)
  }

  get listening(): boolean {
    return this.live
  }

  stats(): TokenCacheStats {
    return { entries: this.entries.size, ...this.counts, listening: this.live }
  }

  private delete(key: string, entry: Entry<V>): void {
    this.entries.delete(key)
    removeFrom(this.keysByUser, entry.userId, key)
    removeFrom(this.keysByAccount, entry.accountId, key)
  }
}

function addTo(index: Map<string, Set<string>>, name: string, key: string): void {
  let keys = index.get(name)
  if (!keys) index.set(name, (keys = new Set()))
  keys.add(key)
}

function removeFrom(index: Map<string, Set<string>>, name: string, key: string): void {
  const keys = index.get(name)
  if (!keys) return
  keys.delete(key)
  if (keys.size === 0) index.delete(name)
}

/** The cache and its channel, as the engine uses them, plus the handle the adapter exposes. */
export function startTokenCache<V>(
  options: TokenCacheOptions,
  now: () => number,
): { cache: TokenCache<V>; handle: TokenCacheHandle } {
  const cache = new TokenCache<V>(options, now)
  let lastError: Error | undefined
  let closed = false
  const waiters = new Set<() => void>()
  const wake = () => {
    for (const waiter of waiters) waiter()
  }
  const subscription = options.invalidation?.subscribe({
    user: (userId) => cache.invalidateUser(userId),
    all: () => cache.invalidateAll(),
    listening: (live) => {
      if (live) lastError = undefined
      cache.setListening(live)
      wake()
    },
    failed: (error) => {
      lastError = error
      wake()
    },
  })

  const handle: TokenCacheHandle = {
    ready(timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const check = (): boolean => {
          if (cache.listening) resolve()
          else if (closed) reject(new Error("the token cache is closed"))
          else if (lastError) reject(lastError)
          else return false
          return true
        }
        if (check()) return
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          reject(new Error(`the token cache's invalidation channel did not start listening within ${timeoutMs} ms`))
        }, timeoutMs)
        const waiter = () => {
          if (!check()) return
          clearTimeout(timer)
          waiters.delete(waiter)
        }
        waiters.add(waiter)
      })
    },
    stats: () => cache.stats(),
    clear: () => cache.invalidateAll(),
    async close() {
      if (closed) return
      closed = true
      cache.close()
      wake()
      await subscription?.close()
    },
  }
  return { cache, handle }
}
