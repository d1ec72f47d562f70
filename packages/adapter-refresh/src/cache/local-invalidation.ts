/**
 * Read-your-writes for the token cache inside one process: every write this process makes through the
 * account sync (a sign-in, a link, a refresh, a kept-token write, a re-authentication mark) drops the
 * user's cached entries once the write's transaction has ended, and voids the reads in flight then, so a
 * read that saw the row before the commit is not cached after it. Other processes hear of the write from
 * the invalidation channel (pg-notify.ts).
 */
import type { AccountSync } from "../account-sync.js"
import type { LockedAccount } from "../store.js"
import type { TokenCache } from "./token-cache.js"

/** A string as is, a number or bigint (a user id may be either) as text, anything else undefined. */
export const asText = (value: unknown): string | undefined =>
  typeof value === "string" ? value : typeof value === "number" || typeof value === "bigint" ? String(value) : undefined

export function invalidatingSync(sync: AccountSync, cache: TokenCache<unknown>): AccountSync {
  /** The users written under each lock, invalidated again when its transaction ends. */
  const writtenUnder = new WeakMap<LockedAccount, Set<string>>()
  const wrote = (locked: LockedAccount, userId: string) => {
    cache.invalidateUser(userId)
    writtenUnder.get(locked)?.add(userId)
  }
  return {
    ...sync,
    async upsert(account, mode, wanted) {
      const input = typeof account === "object" && account !== null ? (account as Record<string, unknown>) : {}
      let written: string | undefined
      try {
        const result = await sync.upsert(account, mode, wanted)
        written = asText(result?.userId)
        return result
      } finally {
        // Also when it failed: whether the commit happened is not known then.
        if (written !== undefined) cache.invalidateUser(written)
        const caller = asText(input.userId)
        if (caller !== undefined) cache.invalidateUser(caller)
        const provider = asText(input.provider)
        const providerAccountId = asText(input.providerAccountId)
        if (provider !== undefined && providerAccountId !== undefined)
          cache.invalidateAccount(provider, providerAccountId)
      }
    },
    async withStoredAccount(key, work, lockOptions, owner) {
      const users = new Set<string>()
      try {
        return await sync.withStoredAccount(
          key,
          (stored, locked) => {
            writtenUnder.set(locked, users)
            return work(stored, locked)
          },
          lockOptions,
          owner,
        )
      } finally {
        for (const userId of users) cache.invalidateUser(userId)
      }
    },
    async writeMerged(locked, stored, tokens, source) {
      try {
        return await sync.writeMerged(locked, stored, tokens, source)
      } finally {
        wrote(locked, stored.row.userId)
      }
    },
    async writeMark(locked, stored, column, value) {
      try {
        await sync.writeMark(locked, stored, column, value)
      } finally {
        wrote(locked, stored.row.userId)
      }
    },
  }
}
