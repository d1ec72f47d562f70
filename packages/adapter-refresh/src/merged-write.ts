/**
 * The merged write under the account lock: incoming tokens merged over the stored ones field by field (nothing
 * erased, policy/merge.ts), the two nulls the write path may write (the reauth mark cleared, a refresh token's
 * expiry made unknown), stale ciphertext rewritten with the current key, and the write scoped to the owner's
 * rows and the orphans it adopts. Sign-ins and refreshes both end here; tested over a fake locked account.
 */
import type { AdapterAccount } from "./authjs-types.js"
import { encodeTokens, staleFields, type TokenCodec } from "./codec.js"
import type { StoredView } from "./account-sync.js"
import { keyOfRow, toAdapterAccount } from "./account-rows.js"
import { mergeTokens, type TokenSet } from "./policy/merge.js"
import { reauthMarkChange, type TokenWriteSource } from "./policy/reauth.js"
import { refreshTokenExpiryChange } from "./policy/refresh-token-expiry.js"
import type { LockedAccount, UserId } from "./store.js"

/** The sync's columns of its own and its codec: what the merge must treat apart. */
export interface MergedWriteSettings {
  reauthColumn: string | undefined
  expiryColumn: string | undefined
  codec: TokenCodec | undefined
}

/** Whose rows a merged write touches: `owner`'s and, re-pointed to `ownerAsTyped`, each orphan's in `adopt`. */
export interface WriteScope {
  owner: string
  adopt: readonly string[]
  /** The owner's id as the caller typed it (a number for serial ids), written onto adopted rows. */
  ownerAsTyped: UserId
}

/**
 * Merges `incoming` over `stored` and writes the changes to the rows of the scope's owner (when it has any)
 * and, re-pointed to the owner, to the rows of each orphan it adopts; returns the account as merged. No other
 * row is touched, and nothing is written when nothing changed.
 */
export async function writeMerged(
  settings: MergedWriteSettings,
  account: Pick<LockedAccount, "update">,
  stored: StoredView,
  incoming: TokenSet,
  source: TokenWriteSource = "sign-in",
  scope: WriteScope = { owner: stored.row.userId, adopt: [], ownerAsTyped: stored.row.userId },
): Promise<AdapterAccount> {
  const { reauthColumn, expiryColumn, codec } = settings
  const merge = mergeTokens(stored.tokens, incoming)
  // The one explicit exception to "never write null": clearing the re-authentication mark.
  const clear = {
    ...(reauthColumn ? reauthMarkChange(stored.tokens, incoming, reauthColumn, source) : {}),
    // The other: a new refresh token without an expiry makes the stored expiry unknown.
    ...(expiryColumn ? refreshTokenExpiryChange(stored.tokens, incoming, expiryColumn) : {}),
  }
  const merged = { ...merge.merged, ...clear }
  const changes: TokenSet = { ...merge.changes, ...clear }
  // Lazy migration: values in clear (from before encryption) or under an older key are rewritten with
  // the current key whenever the row is written anyway. An undecryptable value reads as null: skipped.
  if (Object.keys(changes).length > 0) {
    for (const field of staleFields(stored.row.tokens, codec))
      if (!(field in changes) && merged[field] != null) changes[field] = merged[field]
  }
  const tokens = Object.keys(changes).length > 0 ? await encodeTokens(changes, codec, keyOfRow(stored.row)) : {}
  const { owner, adopt, ownerAsTyped } = scope
  if (Object.keys(tokens).length > 0 && stored.row.userId === owner) await account.update({ tokens }, { userId: owner })
  for (const orphan of adopt) await account.update({ userId: ownerAsTyped, tokens }, { userId: orphan })
  return toAdapterAccount({ ...stored.row, userId: owner }, merged)
}
