/**
 * `accountsNeedingReauth`: the accounts marked as needing their user again (`refresh.reauthColumn`), a page
 * at a time, for a job that emails users. The checks and the cursor are pure; the read is the store's
 * optional `listReauthMarks`. No token is read or returned: an entry holds the key, the owner and the mark.
 */
import { AccountStoreError, InvalidOptionsError, ReauthListUnavailableError, TokenSyncError } from "./errors.js"
import type { AccountKey, AccountStore, ReauthMark, ReauthMarkPage } from "./store.js"

/** The most accounts one `accountsNeedingReauth` page may ask for. */
export const REAUTH_LIST_MAX_LIMIT = 1000
/** The page size when `limit` is not given. */
export const REAUTH_LIST_DEFAULT_LIMIT = 100

/** Parameters of `accountsNeedingReauth`. */
export interface AccountsNeedingReauthParams {
  /** The previous page's `next`: the page starts after this key. Absent (or null): from the first key. */
  after?: AccountKey | null
  /** Most accounts (keys) in the page: a positive integer, at most {@link REAUTH_LIST_MAX_LIMIT}. Default 100. */
  limit?: number
  /** Only accounts at this provider (its Auth.js id), when given. */
  provider?: string
}

/** An account whose user must sign in again. No token, ever. */
export interface AccountNeedingReauth {
  userId: string
  provider: string
  providerAccountId: string
  /** The mark as stored: "invalid_grant" (the refresh token was refused) or "invalid_scope" (consent withdrawn). */
  reason: string
}

/** One page of `accountsNeedingReauth`. */
export interface AccountsNeedingReauthPage {
  /** In (provider, providerAccountId) order. */
  accounts: AccountNeedingReauth[]
  /**
   * Pass as `after` for the next page; null when this page was the last. Keyset paging: marks set or cleared
   * between pages neither repeat nor skip other accounts.
   */
  next: AccountKey | null
}

const isText = (value: unknown): value is string => typeof value === "string" && value !== ""

/**
 * The store page for `params`, checked: a bad limit, cursor or provider is refused with an
 * `InvalidOptionsError` naming it, before anything is read. @internal
 */
export function reauthMarkPage(params: AccountsNeedingReauthParams | undefined, column: string): ReauthMarkPage {
  const { after, limit = REAUTH_LIST_DEFAULT_LIMIT, provider } = params ?? {}
  if (!Number.isSafeInteger(limit) || limit <= 0 || limit > REAUTH_LIST_MAX_LIMIT)
    throw new InvalidOptionsError(
      "limit",
      `accountsNeedingReauth: limit must be a positive integer of at most ${REAUTH_LIST_MAX_LIMIT}.`,
    )
  if (provider !== undefined && !isText(provider))
    throw new InvalidOptionsError("provider", "accountsNeedingReauth: provider must be a non-empty string.")
  if (after !== undefined && after !== null) {
    const key = after as Partial<Record<keyof AccountKey, unknown>>
    if (typeof after !== "object" || !isText(key.provider) || typeof key.providerAccountId !== "string")
      throw new InvalidOptionsError(
        "after",
        "accountsNeedingReauth: after must be the previous page's next ({ provider, providerAccountId }) or null.",
      )
  }
  return {
    column,
    limit,
    ...(after ? { after: { provider: after.provider, providerAccountId: after.providerAccountId } } : {}),
    ...(provider !== undefined ? { provider } : {}),
  }
}

/**
 * The page for the store's marks: only the four named fields of each (whatever else a custom store returned),
 * and the cursor, which is the last key when the page is full (`limit` keys), else null. @internal
 */
export function reauthPageOf(marks: readonly ReauthMark[], limit: number): AccountsNeedingReauthPage {
  const accounts = marks.map((mark) => ({
    userId: String(mark.userId),
    provider: String(mark.provider),
    providerAccountId: String(mark.providerAccountId),
    reason: String(mark.reason),
  }))
  const keys = new Set(accounts.map((account) => `${account.provider}\u001f${account.providerAccountId}`))
  const last = accounts[accounts.length - 1]
  return {
    accounts,
    next: last && keys.size >= limit ? { provider: last.provider, providerAccountId: last.providerAccountId } : null,
  }
}

/** `accountsNeedingReauth` over `store`, for the mark column of the options (if any). @internal */
export function accountsNeedingReauthOf(
  store: AccountStore,
  column: string | undefined,
): (params?: AccountsNeedingReauthParams) => Promise<AccountsNeedingReauthPage> {
  return async (params) => {
    if (!column) throw new ReauthListUnavailableError("refresh.reauthColumn", store.name)
    if (!store.listReauthMarks) throw new ReauthListUnavailableError("AccountStore.listReauthMarks", store.name)
    const page = reauthMarkPage(params, column)
    let marks: ReauthMark[]
    try {
      marks = await store.listReauthMarks(page)
    } catch (error) {
      // A driver's own error (its message may quote values) becomes the store error with safe facts.
      if (error instanceof TokenSyncError) throw error
      throw new AccountStoreError(store.name, "accountsNeedingReauth", error)
    }
    return reauthPageOf(marks, page.limit)
  }
}
