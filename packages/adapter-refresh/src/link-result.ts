/**
 * What a link returns once its row is inserted: as a drop-in, what the wrapped adapter's own `linkAccount`
 * returns (`AccountStore.linkAccountResult`), never a token in the form stored (ciphertext). Pure, tested
 * without a database.
 */
import type { AdapterAccount } from "./authjs-types.js"
import type { TokenCodec } from "./codec.js"
import type { TokenSet } from "./policy/merge.js"
import type { AccountStore } from "./store.js"

/**
 * The link's result by the store's `linkAccountResult`: "input", the input with the fields the insert resolved
 * to (never token values) assigned onto it, as TypeORM's save does; "nothing", undefined; "inserted-row", the
 * inserted row with the codec's columns back in plaintext (`incoming`); else (or no row came back) `stored`.
 */
export function linkResultOf(
  linkAccountResult: AccountStore["linkAccountResult"],
  input: unknown,
  inserted: Record<string, unknown> | void,
  incoming: TokenSet,
  codec: TokenCodec | undefined,
  stored: AdapterAccount,
): AdapterAccount | undefined {
  if (linkAccountResult === "input")
    return (inserted ? Object.assign(input as object, inserted) : input) as AdapterAccount
  if (linkAccountResult === "nothing") return undefined
  if (linkAccountResult === "inserted-row" && inserted) {
    // The row holds the codec's ciphertext; the caller gets back the plaintext it gave.
    const plaintext: Record<string, unknown> = { ...inserted }
    for (const field of codec?.fields ?? []) if (field in plaintext) plaintext[field] = incoming[field] ?? null
    return plaintext as unknown as AdapterAccount
  }
  return stored
}
