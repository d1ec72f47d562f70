import { describe, expect, test } from "@jest/globals"
import { BoundedMap, MAX_KEPT_TOKEN_SETS } from "../../src/refresh/bounded-map.js"
import { KeptTokenStore, type KeptTokens } from "../../src/refresh/issued-tokens.js"

describe("BoundedMap: the cap of the refresh path's per-process memories", () => {
  test("at most `limit` entries, the oldest evicted first; setting a key again makes it the newest", () => {
    const map = new BoundedMap<string, number>(3)
    for (const [key, value] of [
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ] as const)
      map.set(key, value)
    map.set("a", 10) // a is now the newest: b is the oldest
    map.set("d", 4)
    expect(map.size).toBe(3)
    expect([map.has("a"), map.has("b"), map.has("c"), map.has("d")]).toEqual([true, false, true, true])
    expect(map.get("a")).toBe(10)
    expect(map.delete("c")).toBe(true)
    expect(map.size).toBe(2)
  })
})

describe("KeptTokenStore is capped", () => {
  // Only keep/get/size run here: no write, so the store's sync and lock options are never used.
  const entry = (n: number): KeptTokens => ({
    from: { access_token: `a${n}`, refresh_token: `r${n}` },
    base: { row: {} as KeptTokens["base"]["row"], tokens: {} },
    tokens: { access_token: `a${n + 1}` },
    attempts: 0,
    lastFailure: {},
  })

  test(`at most MAX_KEPT_TOKEN_SETS (${MAX_KEPT_TOKEN_SETS}) sets by default, the oldest evicted first`, () => {
    const kept = new KeptTokenStore(undefined as never, { lockTimeoutMs: 1, transactionTimeoutMs: 1 }, 1)
    for (let n = 0; n <= MAX_KEPT_TOKEN_SETS; n++) kept.keep(`account-${n}`, entry(n))
    expect(kept.size).toBe(MAX_KEPT_TOKEN_SETS)
    expect(kept.get("account-0")).toBeUndefined()
    expect(kept.get("account-1")?.tokens.access_token).toBe("a2")
    expect(kept.get(`account-${MAX_KEPT_TOKEN_SETS}`)).toBeDefined()
  })
})
