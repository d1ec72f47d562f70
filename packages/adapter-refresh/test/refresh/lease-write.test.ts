/**
 * Lease mode's WRITE (refresh/lease-write.ts): the answer is stored under compare-and-set with what READ saw,
 * decided on the decoded rows under the lock, through the real AccountSync (merge, ownership, codec). The
 * account store here is an in-memory FAKE for branch coverage; the pg tests run the same write for real.
 */
import { describe, expect, test } from "@jest/globals"
import { createAccountSync, type StoredView } from "../../src/account-sync.js"
import { leaseWriteOf, refreshTokenPart, writeLeaseAnswer } from "../../src/refresh/lease-write.js"
import { versionOf } from "../../src/refresh/issued-tokens.js"
import type { AccountKey, AccountStore, StoredAccountRow } from "../../src/store.js"

const key: AccountKey = { provider: "p", providerAccountId: "a" }

/** An in-memory account store, a FAKE for branch coverage: one row list, a lock that is a no-op. */
function fakeStoreForBranchCoverage(rows: StoredAccountRow[]): AccountStore {
  return {
    name: "fake",
    withAccountLock: (_key, work) =>
      work({
        readAll: () => Promise.resolve(rows.map((row) => ({ ...row, tokens: { ...row.tokens } }))),
        userExists: () => Promise.resolve(true),
        insert: () => Promise.resolve(),
        update: (patch, scope) => {
          for (const row of rows) if (row.userId === scope.userId) Object.assign(row.tokens, patch.tokens ?? {})
          return Promise.resolve()
        },
      }),
    findAccounts: () => Promise.resolve(rows),
  }
}

const rowWith = (tokens: Record<string, unknown>): StoredAccountRow => ({
  ...key,
  userId: "u1",
  type: "oidc",
  tokens: { expires_at: 100, id_token: "id-1", scope: "openid", token_type: "bearer", ...tokens },
})

/** READ's view, then `landed` changes the row (a sign-in, another holder), then the WRITE. */
async function writeAfter(landed: Record<string, unknown>) {
  const row = rowWith({ access_token: "A1", refresh_token: "R1" })
  const store = fakeStoreForBranchCoverage([row])
  const sync = createAccountSync(store)
  const read: StoredView = await sync.viewOf({ ...row, tokens: { ...row.tokens } })
  Object.assign(row.tokens, landed)
  const answer = { access_token: "A2", refresh_token: "R2", expires_at: 999, id_token: "id-2" }
  const written = await sync.withStoredAccount(
    key,
    (now, locked) => writeLeaseAnswer(sync, locked, now, versionOf(read.tokens), answer),
    {},
    "u1",
  )
  return { written, row: row.tokens }
}

describe("lease write (compare-and-set on what READ saw)", () => {
  test("nothing landed: the whole merged answer is written", async () => {
    const { written, row } = await writeAfter({})
    expect(written.kind).toBe("whole")
    expect(row).toMatchObject({ access_token: "A2", refresh_token: "R2", expires_at: 999, id_token: "id-2" })
  })

  test("a sign-in without a refresh token landed: only the rotated refresh token is written", async () => {
    const { written, row } = await writeAfter({ access_token: "A-signin", expires_at: 500, id_token: "id-signin" })
    // Control: always write the whole answer: access_token becomes A2, the sign-in's newer token is lost.
    expect(written.kind).toBe("refresh-token-only")
    expect(row).toMatchObject({ access_token: "A-signin", expires_at: 500, id_token: "id-signin", refresh_token: "R2" })
  })

  test("a new refresh token landed (a newer sign-in, another holder): nothing written, superseded", async () => {
    const { written, row } = await writeAfter({ access_token: "A-new", refresh_token: "R-new" })
    // Control: write when only the access token is compared: R-new is overwritten by R2.
    expect(written.kind).toBe("superseded")
    expect(row).toMatchObject({ access_token: "A-new", refresh_token: "R-new" })
  })

  test("the decision table, and the refresh token's own fields", () => {
    const read = { access_token: "A1", refresh_token: "R1" }
    expect(leaseWriteOf(read, null)).toBe("superseded")
    expect(leaseWriteOf(read, { access_token: "A1", refresh_token: "R1" })).toBe("whole")
    expect(leaseWriteOf(read, { access_token: "A9", refresh_token: "R1" })).toBe("refresh-token-only")
    expect(leaseWriteOf(read, { access_token: "A1", refresh_token: null })).toBe("superseded")
    expect(
      refreshTokenPart({ access_token: "A2", refresh_token: "R2", refresh_token_expires_in: 3600, expires_at: 9 }),
    ).toEqual({ refresh_token: "R2", refresh_token_expires_in: 3600 })
  })
})
