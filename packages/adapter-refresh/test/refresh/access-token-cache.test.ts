/**
 * getAccessToken through the token cache (refresh/access-token-cache.ts), on the real in-memory `TokenCache`:
 * what a hit may answer, what is kept, the copies handed out, a refused token and the scope check. `resolve`
 * plays the database read: no database.
 */
import { describe, expect, test } from "@jest/globals"
import type { AdapterAccount } from "../../src/authjs-types.js"
import { InsufficientScopeError, RefreshPersistError } from "../../src/errors.js"
import { TokenCache } from "../../src/cache/token-cache.js"
import { throughCache } from "../../src/refresh/access-token-cache.js"
import type { AccessTokenResult } from "../../src/refresh/engine-types.js"
import type { ScopeCheck } from "../../src/refresh/scope-check.js"

const question = { userId: "u1", provider: "acme" }
const resultOf = (accessToken: string, extra: Partial<AccessTokenResult> = {}): AccessTokenResult => ({
  accessToken,
  account: { userId: "u1", provider: "acme", providerAccountId: "p1", scope: "read" } as unknown as AdapterAccount,
  refreshed: false,
  ...extra,
})
const fresh = (): boolean => true

/** A resolve that counts its calls and answers `results` in turn. */
function reads(...results: AccessTokenResult[]) {
  let calls = 0
  return {
    get calls() {
      return calls
    },
    resolve: async () => results[calls++]!,
  }
}

describe("throughCache", () => {
  test("without a cache: resolves every time", async () => {
    const db = reads(resultOf("a1"), resultOf("a2"))
    expect((await throughCache(undefined, question, fresh, db.resolve, undefined)).result.accessToken).toBe("a1")
    expect(await throughCache(undefined, question, fresh, db.resolve, undefined)).toMatchObject({ cached: false })
    expect(db.calls).toBe(2)
  })

  test("a fresh entry answers the same question from memory, as a copy, never as refreshed", async () => {
    const cache = new TokenCache<AccessTokenResult>({}, Date.now)
    const db = reads(resultOf("a1", { refreshed: true }))
    const first = await throughCache(cache, question, fresh, db.resolve, undefined)
    expect(first).toMatchObject({ cached: false, result: { accessToken: "a1", refreshed: true } })
    const hit = await throughCache(cache, question, fresh, db.resolve, undefined)
    expect(hit).toMatchObject({ cached: true, result: { accessToken: "a1", refreshed: false } })
    expect(db.calls).toBe(1)
    hit.result.account.scope = "changed by a caller"
    const again = await throughCache(cache, question, fresh, db.resolve, undefined)
    expect(again.result.account.scope).toBe("read")
  })

  test("a stale entry, another question or a refused token goes to the database", async () => {
    const cache = new TokenCache<AccessTokenResult>({}, Date.now)
    const db = reads(resultOf("a1"), resultOf("a2"), resultOf("a3"), resultOf("a4"))
    await throughCache(cache, question, fresh, db.resolve, undefined)
    await throughCache(cache, question, () => false, db.resolve, undefined)
    await throughCache(cache, { ...question, providerAccountId: "p2" }, fresh, db.resolve, undefined)
    const refused = await throughCache(cache, { ...question, refusedAccessToken: "a2" }, fresh, db.resolve, undefined)
    expect(refused).toMatchObject({ cached: false, result: { accessToken: "a4" } })
    expect(db.calls).toBe(4)
  })

  test("tokens a write refused, or an answer in another spelling of the user id, are not kept", async () => {
    const cache = new TokenCache<AccessTokenResult>({}, Date.now)
    const unwritten = resultOf("kept", { persistError: new RefreshPersistError("acme", {}, 1, 3) })
    const db = reads(unwritten, resultOf("a2"), resultOf("a3"), resultOf("a4"))
    await throughCache(cache, question, fresh, db.resolve, undefined)
    await throughCache(cache, question, fresh, db.resolve, undefined) // now kept: a2
    await throughCache(cache, { ...question, userId: "U1" }, fresh, db.resolve, undefined) // the row says "u1"
    await throughCache(cache, { ...question, userId: "U1" }, fresh, db.resolve, undefined)
    expect(db.calls).toBe(4)
    expect((await throughCache(cache, question, fresh, db.resolve, undefined)).result.accessToken).toBe("a2")
  })

  test("an invalidation during the read voids the result", async () => {
    const cache = new TokenCache<AccessTokenResult>({}, Date.now)
    const db = reads(resultOf("a1"), resultOf("a2"))
    const resolve = async () => {
      const result = await db.resolve()
      if (db.calls === 1) cache.invalidateUser("u1")
      return result
    }
    await throughCache(cache, question, fresh, resolve, undefined)
    expect((await throughCache(cache, question, fresh, resolve, undefined)).result.accessToken).toBe("a2")
  })

  test("the scope check runs on a hit and after a resolve, once the cache kept the result", async () => {
    const cache = new TokenCache<AccessTokenResult>({}, Date.now)
    const sources: string[] = []
    const check: ScopeCheck = (_account, _scope, source) => {
      sources.push(source)
      throw new InsufficientScopeError("acme", ["write"], source)
    }
    const db = reads(resultOf("a1", { refreshed: true }))
    await expect(throughCache(cache, question, fresh, db.resolve, check)).rejects.toThrow(InsufficientScopeError)
    await expect(throughCache(cache, question, fresh, db.resolve, check)).rejects.toThrow(InsufficientScopeError)
    expect(sources).toEqual(["refresh", "stored"])
    expect(db.calls).toBe(1)
  })

  test("a failed read ends its ticket (no read left open in the cache) and throws", async () => {
    const cache = new TokenCache<AccessTokenResult>({}, Date.now)
    const openReads = (): number => (cache as unknown as { readsByUser: Map<string, unknown> }).readsByUser.size
    const error = new Error("read failed")
    await expect(throughCache(cache, question, fresh, () => Promise.reject(error), undefined)).rejects.toBe(error)
    expect(openReads()).toBe(0)
    const db = reads(resultOf("a1"))
    await throughCache(cache, question, fresh, db.resolve, undefined)
    expect(await throughCache(cache, question, fresh, db.resolve, undefined)).toMatchObject({ cached: true })
  })
})
