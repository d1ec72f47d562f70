/**
 * `accountsNeedingReauth` (reauth-list.ts): its checks, its cursor and its errors, pure, with a custom
 * AccountStore written here the way an app writes one (an array of rows). What the built-in stores' SQL
 * does on real servers is the kit's (b4) section, run by every cell.
 */
import { describe, expect, test } from "@jest/globals"
import { AccountStoreError, InvalidOptionsError, ReauthListUnavailableError } from "../src/errors.js"
import { REAUTH_LIST_MAX_LIMIT, reauthMarkPage, reauthPageOf } from "../src/reauth-list.js"
import type { AccountStore, ReauthMark, ReauthMarkPage } from "../src/store.js"
import { withTokenSync } from "../src/with-token-sync.js"

const mark = (provider: string, providerAccountId: string, userId = "u1", reason = "invalid_grant"): ReauthMark => ({
  provider,
  providerAccountId,
  userId,
  reason,
})

/** A custom store over an array, listing as the contract says (key order, keyset, `limit` keys). */
function arrayStore(marks: ReauthMark[], withList = true): AccountStore & { pages: ReauthMarkPage[] } {
  const pages: ReauthMarkPage[] = []
  const order = (a: ReauthMark, b: ReauthMark) =>
    a.provider === b.provider ? (a.providerAccountId < b.providerAccountId ? -1 : 1) : a.provider < b.provider ? -1 : 1
  return {
    name: "array",
    pages,
    withAccountLock: async () => {
      throw new Error("not used")
    },
    findAccounts: async () => [],
    ...(withList && {
      async listReauthMarks(page: ReauthMarkPage) {
        pages.push(page)
        const after = page.after
        return [...marks]
          .sort(order)
          .filter((m) => page.provider === undefined || m.provider === page.provider)
          .filter(
            (m) =>
              !after ||
              m.provider > after.provider ||
              (m.provider === after.provider && m.providerAccountId > after.providerAccountId),
          )
          .slice(0, page.limit)
      },
    }),
  }
}

const adapterOver = (store: AccountStore, reauthColumn: string | null = "refresh_error") =>
  withTokenSync({}, store, reauthColumn ? { refresh: { providers: [], reauthColumn } } : {})

describe("reauthMarkPage: the checks, before anything is read", () => {
  test.each([
    ["zero", 0],
    ["a negative number", -1],
    ["a fraction", 2.5],
    ["NaN", Number.NaN],
    ["a string", "10"],
    [`more than ${REAUTH_LIST_MAX_LIMIT}`, REAUTH_LIST_MAX_LIMIT + 1],
  ])("a limit that is %s is refused, naming limit", (_label, limit) => {
    const error = (() => {
      try {
        reauthMarkPage({ limit: limit as number }, "refresh_error")
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).option).toBe("limit")
  })

  test(`limits 1 and ${REAUTH_LIST_MAX_LIMIT} pass (control); absent is 100`, () => {
    expect(reauthMarkPage({ limit: 1 }, "c").limit).toBe(1)
    expect(reauthMarkPage({ limit: REAUTH_LIST_MAX_LIMIT }, "c").limit).toBe(REAUTH_LIST_MAX_LIMIT)
    expect(reauthMarkPage(undefined, "c")).toEqual({ column: "c", limit: 100 })
  })

  test("a bad after or provider is refused, naming it; a good one is passed on", () => {
    for (const after of [{ provider: "" }, { provider: 1, providerAccountId: "a" }, "p/a"])
      expect(() => reauthMarkPage({ after: after as never }, "c")).toThrow(InvalidOptionsError)
    expect(() => reauthMarkPage({ provider: "" }, "c")).toThrow(InvalidOptionsError)
    expect(reauthMarkPage({ after: { provider: "p", providerAccountId: "a" }, provider: "p", limit: 5 }, "c")).toEqual({
      column: "c",
      limit: 5,
      after: { provider: "p", providerAccountId: "a" },
      provider: "p",
    })
    expect(reauthMarkPage({ after: null }, "c")).toEqual({ column: "c", limit: 100 })
  })
})

describe("reauthPageOf: entries and cursor", () => {
  test("a full page (limit keys) gives its last key as next; a shorter one gives null", () => {
    const marks = [mark("a", "1"), mark("a", "2"), mark("b", "1")]
    expect(reauthPageOf(marks, 3).next).toEqual({ provider: "b", providerAccountId: "1" })
    expect(reauthPageOf(marks, 4).next).toBeNull()
    expect(reauthPageOf([], 4)).toEqual({ accounts: [], next: null })
  })
  test("a key with two owners counts once toward the limit", () => {
    expect(reauthPageOf([mark("a", "1", "u1"), mark("a", "1", "u2")], 2).next).toBeNull()
    expect(reauthPageOf([mark("a", "1", "u1"), mark("a", "1", "u2")], 1).next).toEqual({
      provider: "a",
      providerAccountId: "1",
    })
  })
  test("keeps only the four fields, whatever else a custom store returned", () => {
    const extra = { ...mark("a", "1"), refresh_token: "rt.secret", access_token: "at.secret" }
    const page = reauthPageOf([extra], 10)
    expect(page.accounts).toEqual([mark("a", "1")])
    expect(JSON.stringify(page)).not.toContain("secret")
  })
})

describe("the wrapped adapter's accountsNeedingReauth", () => {
  test("pages through every marked account, each once, with the mark column and provider passed on", async () => {
    const marks = [
      mark("b", "2"),
      mark("a", "1"),
      mark("b", "1"),
      mark("a", "3"),
      mark("c", "1", "u2", "invalid_scope"),
    ]
    const store = arrayStore(marks)
    const adapter = adapterOver(store)
    const seen: string[] = []
    let after = null as { provider: string; providerAccountId: string } | null
    for (let pages = 0; pages < 10; pages++) {
      const page = await adapter.accountsNeedingReauth({ after, limit: 2 })
      seen.push(...page.accounts.map((a) => `${a.provider}/${a.providerAccountId}`))
      after = page.next
      if (!after) break
    }
    expect(seen).toEqual(["a/1", "a/3", "b/1", "b/2", "c/1"])
    expect(store.pages.every((page) => page.column === "refresh_error" && page.limit === 2)).toBe(true)
    const onlyB = await adapter.accountsNeedingReauth({ provider: "b" })
    expect(onlyB).toEqual({ accounts: [mark("b", "1"), mark("b", "2")], next: null })
  })

  test("without refresh.reauthColumn: ReauthListUnavailableError naming it, and the store is not asked", async () => {
    const store = arrayStore([mark("a", "1")])
    for (const adapter of [adapterOver(store, null), withTokenSync({}, store, { refresh: { providers: [] } })]) {
      const error = await adapter.accountsNeedingReauth().catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(ReauthListUnavailableError)
      expect(error).toMatchObject({ code: "REAUTH_LIST_UNAVAILABLE", missing: "refresh.reauthColumn" })
    }
    expect(store.pages).toEqual([])
    // Control: with the column, the same store lists.
    expect((await adapterOver(store).accountsNeedingReauth()).accounts).toEqual([mark("a", "1")])
  })

  test("a store without listReauthMarks: ReauthListUnavailableError naming the method", async () => {
    const error = await adapterOver(arrayStore([], false))
      .accountsNeedingReauth()
      .catch((caught: unknown) => caught)
    expect(error).toMatchObject({ missing: "AccountStore.listReauthMarks", store: "array" })
    expect(String(error)).toContain("listReauthMarks")
  })

  test("a bad limit is refused before the store is asked", async () => {
    const store = arrayStore([mark("a", "1")])
    await expect(adapterOver(store).accountsNeedingReauth({ limit: 0 })).rejects.toBeInstanceOf(InvalidOptionsError)
    await expect(adapterOver(store).accountsNeedingReauth({ limit: REAUTH_LIST_MAX_LIMIT + 1 })).rejects.toMatchObject({
      option: "limit",
    })
    expect(store.pages).toEqual([])
  })

  test("a driver error becomes AccountStoreError without its message", async () => {
    const store: AccountStore = {
      ...arrayStore([]),
      listReauthMarks: async () => {
        throw Object.assign(new Error("value 'rt.secret' is bad"), { code: "XX000" })
      },
    }
    const error = await adapterOver(store)
      .accountsNeedingReauth()
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(AccountStoreError)
    expect(String(error)).not.toContain("rt.secret")
  })
})
