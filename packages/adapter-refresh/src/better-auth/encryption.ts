/**
 * Better Auth's own `account.encryptOAuthTokens`, as a `TokenCodec` for the plugin's store: the values the
 * plugin reads and writes are exactly Better Auth's, so plain Better Auth and the plugin can take turns on
 * the same rows (switching the plugin on or off strands nothing).
 *
 * Better Auth 1.7 encrypts `accessToken` and `refreshToken` (never `idToken`) with `symmetricEncrypt` under
 * its secret (`$ba$<version>$<hex>` with versioned secrets, bare hex with one secret), and on read decrypts
 * only values that look encrypted, returning the others (rows from before encryption) as they are. The
 * codec calls Better Auth's own `setTokenUtil` and `decryptOAuthToken` (`better-auth/oauth2`), which are
 * those two rules over `symmetricEncrypt`/`symmetricDecrypt`: nothing of the format is re-implemented here.
 */
import type { AuthContext } from "better-auth"
import { decryptOAuthToken, setTokenUtil } from "better-auth/oauth2"
import type { TokenCodec } from "../codec.js"
import { TokenDecryptionError } from "../errors.js"
import type { AccountKey } from "../store.js"

/** The Auth.js fields (as the store maps them) whose Better Auth columns `encryptOAuthTokens` encrypts. */
export const BETTER_AUTH_ENCRYPTED_FIELDS = ["access_token", "refresh_token"] as const

const HEX = /^[0-9a-f]+$/i

/**
 * The codec for Better Auth's `encryptOAuthTokens`, bound to the context Better Auth gives plugins at init
 * (its options and its secret). A value that does not decrypt is a `TokenDecryptionError` naming the column,
 * never the value (Better Auth's own error, which carries no token, is dropped).
 *
 * @param context Better Auth's context (`init(ctx)`), with `account.encryptOAuthTokens` on.
 * @returns The codec over `access_token` and `refresh_token`.
 */
export function betterAuthTokenCodec(context: AuthContext): TokenCodec {
  const secret = context.secretConfig
  const currentPrefix = typeof secret === "string" ? undefined : `$ba$${secret.currentVersion}$`
  return {
    fields: BETTER_AUTH_ENCRYPTED_FIELDS,
    // Better Auth stores an empty value as it is.
    async encode(value: string): Promise<string> {
      return (await setTokenUtil(value, context)) ?? value
    },
    async decode(stored: string, field: string, account?: AccountKey): Promise<string> {
      try {
        return await decryptOAuthToken(stored, context)
      } catch {
        throw new TokenDecryptionError(field, account?.provider, undefined, "authentication_failed")
      }
    },
    // Better Auth's current form: under the current secret version, or bare hex with a single secret.
    // Plaintext (from before encryption) is rewritten encrypted on the row's next write.
    isCurrent(stored: string): boolean {
      if (currentPrefix) return stored.startsWith(currentPrefix)
      return stored.length % 2 === 0 && HEX.test(stored)
    },
  }
}
