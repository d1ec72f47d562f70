/**
 * Stored rows as the sync reads them: the codec's columns decrypted (strictly for reads and refreshes,
 * leniently for sign-ins), and the account Auth.js sees. Functions over the sync's columns and codec, so
 * they are tested without a database.
 */
import type { AdapterAccount, AdapterAccountType } from "./authjs-types.js"
import type { StoredView } from "./account-sync.js"
import { decodeTokens, decodeTokensLeniently, type TokenCodec } from "./codec.js"
import { storedTokens, type TokenSet } from "./policy/merge.js"
import type { AccountKey, StoredAccountRow, UserId } from "./store.js"

/** What a row is read with: the token columns the sync handles, and the codec, if any. */
export interface RowReading {
  columns: readonly string[]
  codec: TokenCodec | undefined
}

/** The account Auth.js sees: the row's identity and its non-null token columns. */
export function toAdapterAccount(row: { userId: UserId; type: string } & AccountKey, tokens: TokenSet): AdapterAccount {
  const account: Record<string, unknown> = {
    userId: row.userId,
    type: row.type as AdapterAccountType,
    provider: row.provider,
    providerAccountId: row.providerAccountId,
  }
  for (const [column, value] of Object.entries(tokens)) if (value !== null) account[column] = value
  return account as unknown as AdapterAccount
}

/** The row's account key (what the codec binds its ciphertext to). */
export const keyOfRow = (row: StoredAccountRow): AccountKey => ({
  provider: row.provider,
  providerAccountId: row.providerAccountId,
})

/** Decrypts every codec column; a value that fails throws `TokenDecryptionError` (reads, refresh). */
export async function viewOf(reading: RowReading, row: StoredAccountRow): Promise<StoredView> {
  return { row, tokens: await decodeTokens(storedTokens(row.tokens, reading.columns), reading.codec, keyOfRow(row)) }
}

/**
 * A stored row under the lock, read leniently for sign-ins: new tokens from the provider are
 * authoritative and may replace a value that no longer decrypts (a lost key must not lock the user
 * out for good), while a column they do not bring is never written.
 */
export async function lenientViewOf(reading: RowReading, row: StoredAccountRow): Promise<StoredView> {
  const { tokens, undecryptable } = await decodeTokensLeniently(
    storedTokens(row.tokens, reading.columns),
    reading.codec,
    keyOfRow(row),
  )
  return { row, tokens, undecryptable }
}
