/**
 * Whose rows a write under the lock touches (src/account-ownership.ts), over a fake locked account holding the
 * rows and users the test gives: the owners looked up (the caller's id as typed), the decision, and the typed
 * errors of a refusal. No database.
 */
import { describe, expect, test } from "@jest/globals"
import { ownershipOf, refusalError } from "../src/account-ownership.js"
import { AccountLinkedToAnotherUserError, AmbiguousAccountOwnerError } from "../src/errors.js"
import type { StoredAccountRow, UserId } from "../src/store.js"

const key = { provider: "acme", providerAccountId: "p1" }
const rowOf = (userId: string): StoredAccountRow => ({ userId, type: "oauth", ...key, tokens: {} }) as StoredAccountRow

/** A locked account with `owners`' rows; `users` exist. Records every id looked up, as given. */
function lockedFake(owners: string[], users: string[]) {
  const asked: UserId[] = []
  return {
    asked,
    account: {
      readAll: async () => owners.map(rowOf),
      userExists: async (userId: UserId) => {
        asked.push(userId)
        return users.includes(String(userId))
      },
    },
  }
}

describe("ownershipOf", () => {
  test("the caller's own row: write it", async () => {
    const { account } = lockedFake(["7"], ["7"])
    const { rows, decision } = await ownershipOf(account, "7", "sync", 7)
    expect(rows.map((row) => row.userId)).toEqual(["7"])
    expect(decision).toMatchObject({ action: "write", owner: "7", adopt: [] })
  })

  test("the caller's id is looked up as typed (a number for an Int id), a row's owner as read", async () => {
    const { account, asked } = lockedFake(["9"], ["7"])
    // A sync names a user who may be gone: the caller is looked up too.
    const { decision } = await ownershipOf(account, "7", "sync", 7)
    expect(asked).toEqual(["9", 7])
    // The orphaned row of a deleted user is adopted by the caller.
    expect(decision).toMatchObject({ action: "write", owner: "7", adopt: ["9"] })
  })

  test("no row: a link inserts, a sync without a caller skips", async () => {
    expect((await ownershipOf(lockedFake([], ["7"]).account, "7", "link", 7)).decision).toMatchObject({
      action: "insert",
    })
    expect((await ownershipOf(lockedFake([], []).account, undefined, "sync")).decision).toEqual({ action: "skip" })
  })

  test("a row of another live user is refused", async () => {
    const { decision } = await ownershipOf(lockedFake(["9"], ["7", "9"]).account, "7", "sync", "7")
    expect(decision).toMatchObject({ action: "refuse" })
  })
})

describe("refusalError", () => {
  test("each refusal as its typed error", () => {
    expect(refusalError({ action: "refuse", reason: "ambiguous-owner", owners: 2 }, key)).toBeInstanceOf(
      AmbiguousAccountOwnerError,
    )
    expect(refusalError({ action: "refuse", reason: "linked-to-another-user" }, key)).toBeInstanceOf(
      AccountLinkedToAnotherUserError,
    )
  })
})
