/**
 * Lease mode's WRITE: the provider's answer is stored in a short locked transaction, compared with what the
 * holder READ before it sent the request (design 2.5). The comparison runs on the decoded rows under the
 * lock, so a re-encrypted row (same plaintext) still compares equal.
 *
 * | the owner's row now holds                   | written                                                    |
 * |---------------------------------------------|------------------------------------------------------------|
 * | the refresh and access tokens READ saw      | the whole merged answer                                    |
 * | that refresh token, another access token    | only the rotated refresh token (a sign-in without one      |
 * |                                             | landed: its access token is newer, the old refresh token   |
 * |                                             | is dead at the provider)                                   |
 * | another refresh token, or no row           | nothing: a newer sign-in or another holder won             |
 */
import type { AdapterAccount } from "../authjs-types.js"
import type { AccountSync, StoredView } from "../account-sync.js"
import type { TokenSet } from "../policy/merge.js"
import type { LockedAccount } from "../store.js"
import type { RowVersion } from "./issued-tokens.js"

export type LeaseWriteKind = "whole" | "refresh-token-only" | "superseded"

/** Which write the answer gets, from the version READ saw and the owner's row now (null: no row). */
export function leaseWriteOf(read: RowVersion, now: TokenSet | null): LeaseWriteKind {
  if (!now || (now.refresh_token ?? null) !== read.refresh_token) return "superseded"
  return (now.access_token ?? null) === read.access_token ? "whole" : "refresh-token-only"
}

/**
 * The part of an answer that belongs to the rotated refresh token: the token and its own lifetime fields
 * (`refresh_token_expires_in`, `refresh_expires_in`, or a configured column named after it).
 */
export function refreshTokenPart(tokens: TokenSet): TokenSet {
  const part: TokenSet = {}
  for (const [column, value] of Object.entries(tokens)) if (column.startsWith("refresh_")) part[column] = value
  return part
}

export type LeaseWritten =
  { kind: "whole" | "refresh-token-only"; account: AdapterAccount } | { kind: "superseded"; stored: StoredView | null }

/** The compare-and-set write, inside a `withStoredAccount` callback holding the owner's row `now`. */
export async function writeLeaseAnswer(
  sync: AccountSync,
  locked: LockedAccount,
  now: StoredView | null,
  read: RowVersion,
  tokens: TokenSet,
): Promise<LeaseWritten> {
  const kind = leaseWriteOf(read, now?.tokens ?? null)
  if (kind === "superseded" || !now) return { kind: "superseded", stored: now }
  const written = kind === "whole" ? tokens : refreshTokenPart(tokens)
  return { kind, account: await sync.writeMerged(locked, now, written, "refresh") }
}
