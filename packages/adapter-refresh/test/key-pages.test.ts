import { describe, expect, it } from "@jest/globals"
import { compareAccountKeys, pageOfKeys, reauthMarksPage, type MarkCandidate } from "../src/key-pages.js"

const row = (provider: string, providerAccountId: string, userId = "u1") => ({ provider, providerAccountId, userId })
const ids = (rows: { provider: string; providerAccountId: string; userId: string }[]) =>
  rows.map((r) => `${r.provider}/${r.providerAccountId}/${r.userId}`)
const byUser = (a: { userId: string }, b: { userId: string }) =>
  a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0

describe("pageOfKeys", () => {
  // Shuffled on purpose: the store reads them in hash order.
  const rows = [row("b", "2", "u2"), row("c", "1"), row("a", "9"), row("b", "2", "u1"), row("b", "1")]

  it("pages by key in (provider, providerAccountId) order, every row of a key in the page that holds it", () => {
    const first = pageOfKeys(rows, { limit: 2 }, byUser)
    expect(ids(first)).toEqual(["a/9/u1", "b/1/u1"])
    const second = pageOfKeys(rows, { limit: 2, after: first.at(-1)! }, byUser)
    // Two keys: b/2 (two owners, never split) and c/1.
    expect(ids(second)).toEqual(["b/2/u1", "b/2/u2", "c/1/u1"])
    expect(pageOfKeys(rows, { limit: 2, after: second.at(-1)! }, byUser)).toEqual([])
  })

  it("the bound is exclusive and compares ids as text", () => {
    expect(ids(pageOfKeys([row("a", "10"), row("a", "9"), row("a", "1")], { limit: 5, after: row("a", "1") }, byUser)))
      // "10" < "9" as text, as the SQL stores order a text column.
      .toEqual(["a/10/u1", "a/9/u1"])
    expect(compareAccountKeys(row("a", "1"), { provider: "a", providerAccountId: "1" })).toBe(0)
  })

  it("control: a limit of 1 on a key with two rows still gives both rows (a split key would repeat or skip)", () => {
    expect(ids(pageOfKeys([row("b", "2", "u2"), row("b", "2", "u1")], { limit: 1 }, byUser))).toEqual([
      "b/2/u1",
      "b/2/u2",
    ])
  })
})

describe("reauthMarksPage", () => {
  const candidate = (providerAccountId: string, mark: unknown, provider = "p", userId = "u1"): MarkCandidate => ({
    provider,
    providerAccountId,
    userId,
    mark,
  })

  it("lists non-empty text marks only, at the provider asked, in key order", () => {
    const candidates = [
      candidate("3", "invalid_scope"),
      candidate("1", "invalid_grant"),
      candidate("2", null),
      candidate("4", ""),
      candidate("5", 7),
      candidate("6", undefined),
      candidate("1", "invalid_grant", "other"),
    ]
    expect(reauthMarksPage(candidates, { column: "m", provider: "p", limit: 10 })).toEqual([
      { provider: "p", providerAccountId: "1", userId: "u1", reason: "invalid_grant" },
      { provider: "p", providerAccountId: "3", userId: "u1", reason: "invalid_scope" },
    ])
    expect(reauthMarksPage(candidates, { column: "m", limit: 10 }).map((m) => m.provider)).toEqual(["other", "p", "p"])
  })

  it("each owner and mark of a key once; the page never splits a key", () => {
    const candidates = [
      candidate("1", "invalid_grant", "p", "u2"),
      candidate("1", "invalid_grant", "p", "u1"),
      candidate("1", "invalid_grant", "p", "u1"),
      candidate("2", "invalid_grant"),
    ]
    const page = reauthMarksPage(candidates, { column: "m", limit: 1 })
    expect(page.map((m) => m.userId)).toEqual(["u1", "u2"])
    expect(reauthMarksPage(candidates, { column: "m", limit: 1, after: page.at(-1)! })).toEqual([
      { provider: "p", providerAccountId: "2", userId: "u1", reason: "invalid_grant" },
    ])
  })
})
