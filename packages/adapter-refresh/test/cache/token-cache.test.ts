/**
 * The token cache's own rules (cache/token-cache.ts), on a clock the test moves. Pure: no database is
 * involved; what the cache does across processes is tested with real PostgreSQL in
 * adapter-refresh-tests/test/cache/cross-process.test.ts.
 */
import { describe, expect, test } from "@jest/globals"
import {
  accountIdOf,
  checkTokenCacheOptions,
  startTokenCache,
  TokenCache,
  type InvalidationListener,
} from "../../src/cache/token-cache.js"
import { InvalidOptionsError } from "../../src/errors.js"

const always = () => true
const clock = () => {
  let t = 1_000_000
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

function filled(cache: TokenCache<string>, userId: string, value: string, provider = "p", account = "a") {
  const ticket = cache.beginRead(userId)
  cache.put(ticket, TokenCache.keyOf(userId, provider, undefined), accountIdOf(provider, account), value)
}

describe("TokenCache", () => {
  test("serves what was put, and only while `usable` accepts it", () => {
    const cache = new TokenCache<string>({}, clock().now)
    filled(cache, "u1", "token-1")
    const key = TokenCache.keyOf("u1", "p", undefined)
    expect(cache.get(key, always)).toBe("token-1")
    // A token within the refresh skew is never served, and is dropped.
    expect(cache.get(key, () => false)).toBeUndefined()
    expect(cache.get(key, always)).toBeUndefined()
  })

  test("an entry older than maxAgeMs is not served", () => {
    const c = clock()
    const cache = new TokenCache<string>({ maxAgeMs: 500 }, c.now)
    filled(cache, "u1", "token-1")
    c.advance(500)
    expect(cache.get(TokenCache.keyOf("u1", "p", undefined), always)).toBe("token-1")
    c.advance(1)
    expect(cache.get(TokenCache.keyOf("u1", "p", undefined), always)).toBeUndefined()
  })

  test("maxAgeMs defaults to 1 s without a channel and 60 s with one", () => {
    expect(new TokenCache({}, Date.now).maxAgeMs).toBe(1_000)
    expect(new TokenCache({ invalidation: { subscribe: () => ({ close: async () => {} }) } }, Date.now).maxAgeMs).toBe(
      60_000,
    )
  })

  test("bounded: the least recently used entry goes first", () => {
    const cache = new TokenCache<string>({ maxEntries: 2 }, clock().now)
    filled(cache, "u1", "t1")
    filled(cache, "u2", "t2")
    expect(cache.get(TokenCache.keyOf("u1", "p", undefined), always)).toBe("t1") // u1 is now the most recent
    filled(cache, "u3", "t3")
    expect(cache.stats()).toMatchObject({ entries: 2, evictions: 1 })
    expect(cache.get(TokenCache.keyOf("u2", "p", undefined), always)).toBeUndefined()
    expect(cache.get(TokenCache.keyOf("u1", "p", undefined), always)).toBe("t1")
    expect(cache.get(TokenCache.keyOf("u3", "p", undefined), always)).toBe("t3")
  })

  test("an invalidation during a read voids that read: its (possibly older) result is not stored", () => {
    const cache = new TokenCache<string>({}, clock().now)
    const ticket = cache.beginRead("u1")
    cache.invalidateUser("u1") // a write committed while the read was in flight
    cache.put(ticket, TokenCache.keyOf("u1", "p", undefined), accountIdOf("p", "a"), "maybe-old")
    expect(cache.get(TokenCache.keyOf("u1", "p", undefined), always)).toBeUndefined()
    expect(cache.stats().voidedReads).toBe(1)
    // Another user's invalidation does not void it.
    const other = cache.beginRead("u1")
    cache.invalidateUser("u2")
    cache.put(other, TokenCache.keyOf("u1", "p", undefined), accountIdOf("p", "a"), "fine")
    expect(cache.get(TokenCache.keyOf("u1", "p", undefined), always)).toBe("fine")
  })

  test("invalidateUser drops every entry of the user (all providers and account ids), none of others", () => {
    const cache = new TokenCache<string>({}, clock().now)
    filled(cache, "u1", "t1", "google")
    filled(cache, "u1", "t2", "github")
    filled(cache, "u2", "t3", "google")
    cache.invalidateUser("u1")
    expect(cache.stats()).toMatchObject({ entries: 1, invalidations: 2 })
    expect(cache.get(TokenCache.keyOf("u2", "google", undefined), always)).toBe("t3")
  })

  test("invalidateAccount drops the entries of that linked account, whoever asked", () => {
    const cache = new TokenCache<string>({}, clock().now)
    filled(cache, "u1", "t1", "google", "g-1")
    filled(cache, "u2", "t2", "google", "g-2")
    cache.invalidateAccount("google", "g-1")
    expect(cache.get(TokenCache.keyOf("u1", "google", undefined), always)).toBeUndefined()
    expect(cache.get(TokenCache.keyOf("u2", "google", undefined), always)).toBe("t2")
  })

  test("with a channel nothing is served or stored until it listens; losing it drops everything", () => {
    let listener: InvalidationListener | undefined
    const { cache, handle } = startTokenCache<string>(
      { invalidation: { subscribe: (l) => ((listener = l), { close: async () => {} }) } },
      clock().now,
    )
    filled(cache, "u1", "t1")
    expect(cache.stats()).toMatchObject({ entries: 0, listening: false })
    listener!.listening(true)
    filled(cache, "u1", "t1")
    expect(cache.get(TokenCache.keyOf("u1", "p", undefined), always)).toBe("t1")
    const read = cache.beginRead("u9")
    listener!.listening(false)
    expect(cache.stats()).toMatchObject({ entries: 0, listening: false })
    cache.put(read, TokenCache.keyOf("u9", "p", undefined), accountIdOf("p", "a"), "t9")
    expect(cache.stats().entries).toBe(0)
    expect(handle.stats().listening).toBe(false)
  })

  test("ready() resolves once listening, rejects with the channel's failure, and has a bound", async () => {
    let listener: InvalidationListener | undefined
    const { handle } = startTokenCache<string>(
      { invalidation: { subscribe: (l) => ((listener = l), { close: async () => {} }) } },
      Date.now,
    )
    const ready = handle.ready(5_000)
    listener!.listening(true)
    await expect(ready).resolves.toBeUndefined()

    const second = startTokenCache<string>(
      { invalidation: { subscribe: (l) => ((listener = l), { close: async () => {} }) } },
      Date.now,
    )
    const failing = second.handle.ready(5_000)
    listener!.failed(new InvalidOptionsError("refresh.cache.invalidation", "no trigger"))
    await expect(failing).rejects.toThrow("no trigger")

    const third = startTokenCache<string>({ invalidation: { subscribe: () => ({ close: async () => {} }) } }, Date.now)
    await expect(third.handle.ready(50)).rejects.toThrow("within 50 ms")
  })

  test("close() stops the channel and the cache serves nothing afterwards", async () => {
    let closed = 0
    let listener: InvalidationListener | undefined
    const { cache, handle } = startTokenCache<string>(
      { invalidation: { subscribe: (l) => ((listener = l), { close: async () => void closed++ }) } },
      Date.now,
    )
    listener!.listening(true)
    filled(cache, "u1", "t1")
    await handle.close()
    expect(closed).toBe(1)
    listener!.listening(true) // a late message from the channel changes nothing
    filled(cache, "u1", "t1")
    expect(cache.stats()).toMatchObject({ entries: 0, listening: false })
  })
})

describe("refresh.cache options", () => {
  test.each([
    [null, "refresh.cache"],
    [{ maxEntries: 0 }, "refresh.cache.maxEntries"],
    [{ maxAgeMs: 1.5 }, "refresh.cache.maxAgeMs"],
    [{ invalidation: {} }, "refresh.cache.invalidation"],
  ])("%j is refused, naming %s", (options, option) => {
    expect(() => checkTokenCacheOptions(options)).toThrow(InvalidOptionsError)
    try {
      checkTokenCacheOptions(options)
    } catch (error) {
      expect((error as InvalidOptionsError).option).toBe(option)
    }
  })
})

describe("cache keys", () => {
  test("ids holding any separator cannot make two users' questions one key", () => {
    // Joined with \u001f these two questions were the same string.
    const alice = TokenCache.keyOf("alice", "oidc", "x\u001foidc\u001f")
    const mallory = TokenCache.keyOf("alice\u001foidc\u001fx", "oidc", undefined)
    expect(alice).not.toBe(mallory)
    expect(TokenCache.keyOf("u", "p", "")).not.toBe(TokenCache.keyOf("u", "p", undefined))
    expect(accountIdOf("a\u001fb", "c")).not.toBe(accountIdOf("a", "b\u001fc"))
  })
})
