import { TokenCodecError, TokenDecryptionError, TokenSyncError } from "./errors.js"
import type { AccountKey } from "./store.js"

/**
 * Seam for encryption at rest. A codec turns a token value into what is stored and back. The core
 * applies it to the listed columns on every write and read, so the merge policy always compares
 * plaintext. The default is the identity: tokens are stored as Auth.js stores them. `tokenEncryption`
 * (encryption/token-encryption.ts) is the codec this library ships.
 *
 * The core always passes the account the value belongs to, so a codec can bind a ciphertext to its row.
 * It is optional in the signature so that two-argument codecs, and callers, written before it still fit.
 */
export interface TokenCodec {
  /** Columns the codec applies to, e.g. ["access_token", "refresh_token", "id_token"]. */
  readonly fields: readonly string[]
  encode(value: string, field: string, account?: AccountKey): string | Promise<string>
  decode(stored: string, field: string, account?: AccountKey): string | Promise<string>
  /**
   * Whether a stored value is already in the codec's current form (encrypted with the current key).
   * Values that are not (plaintext from before encryption, an older key) are rewritten on the row's next
   * write, and by `reencryptAccounts`. Without it, stored values are never rewritten for their own sake.
   */
  isCurrent?(stored: string, field: string): boolean
}

type Values = Record<string, string | number | null>

/**
 * One codec call, on every path (sign-in, the refresh fast path, under the lock, the adapter's reads):
 * whatever the codec throws, other than our own typed errors, and anything it returns that is not a
 * string, becomes a `TokenCodecError` naming the column, never the value.
 */
async function callCodec(
  codec: TokenCodec,
  direction: "encode" | "decode",
  value: string,
  field: string,
  account: AccountKey,
): Promise<string> {
  let out: unknown
  try {
    out = await codec[direction](value, field, account)
  } catch (error) {
    if (error instanceof TokenSyncError) throw error
    throw new TokenCodecError(
      field,
      direction,
      account?.provider,
      `threw ${error instanceof Error ? error.name : typeof error}`,
    )
  }
  if (typeof out !== "string")
    throw new TokenCodecError(
      field,
      direction,
      account?.provider,
      `returned ${out === null ? "null" : typeof out}, not a string`,
    )
  return out
}

export function encodeTokens(tokens: Values, codec: TokenCodec | undefined, account: AccountKey): Promise<Values> {
  return mapFields(tokens, codec, (value, field) => callCodec(codec!, "encode", value, field, account))
}

export function decodeTokens(tokens: Values, codec: TokenCodec | undefined, account: AccountKey): Promise<Values> {
  return mapFields(tokens, codec, (value, field) => callCodec(codec!, "decode", value, field, account))
}

/**
 * Like `decodeTokens`, but a value that fails to decrypt (`TokenDecryptionError`) becomes null and its
 * column is listed in `undecryptable`, for write paths where incoming tokens may replace it.
 */
export async function decodeTokensLeniently(
  tokens: Values,
  codec: TokenCodec | undefined,
  account: AccountKey,
): Promise<{ tokens: Values; undecryptable: string[] }> {
  const undecryptable: string[] = []
  const decoded = await mapFields(tokens, codec, async (value, field) => {
    try {
      return await callCodec(codec!, "decode", value, field, account)
    } catch (error) {
      if (!(error instanceof TokenDecryptionError)) throw error
      undecryptable.push(field)
      return null
    }
  })
  return { tokens: decoded, undecryptable }
}

/** The codec's columns whose stored value is not in its current form (see `TokenCodec.isCurrent`). */
export function staleFields(stored: Record<string, unknown>, codec: TokenCodec | undefined): string[] {
  if (!codec?.isCurrent) return []
  return codec.fields.filter((field) => {
    const value = stored[field]
    return typeof value === "string" && value !== "" && !codec.isCurrent!(value, field)
  })
}

async function mapFields(
  tokens: Values,
  codec: TokenCodec | undefined,
  map: (value: string, field: string) => string | null | Promise<string | null>,
): Promise<Values> {
  if (!codec) return tokens
  const out: Values = { ...tokens }
  for (const field of codec.fields) {
    const value = out[field]
    if (typeof value === "string") out[field] = await map(value, field)
  }
  return out
}
