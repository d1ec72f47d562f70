import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from "node:crypto"
import type { TokenCodec } from "../codec.js"
import { EncryptionConfigError, TokenDecryptionError } from "../errors.js"
import type { AccountKey } from "../store.js"
import { parseEncryptionKeys, type EncryptionKeysInput, type ParsedKey } from "./keys.js"

/**
 * Encryption at rest for token columns: AES-256-GCM through node:crypto (no dependency, synchronous,
 * hardware-accelerated; WebCrypto would make every call async for no gain on Node).
 *
 * Stored form (the envelope), one line of text:
 *
 *   §enc:v1:<keyId>:<base64url(nonce[12] | ciphertext | tag[16])>
 *
 * The prefix starts with "§" (U+00A7), which RFC 6749 tokens cannot contain (they are 1*VSCHAR, i.e.
 * printable ASCII), so a stored value that does not start with "§enc:" is a plaintext token from before
 * encryption was turned on, and one that does is an envelope: if it does not parse, it is reported as
 * "malformed", never returned as a token.
 *
 * The associated data binds a ciphertext to its key id, row and column: a length-prefixed encoding of
 * (version, keyId, provider, providerAccountId, column). A value copied to another row or column, or
 * relabelled with another key id, fails authentication.
 */

export interface TokenEncryptionOptions {
  /** Current key first; every listed key can decrypt. An array, or the `"<id>:<base64>,..."` string of an env var. */
  keys: EncryptionKeysInput | undefined
  /** Columns to encrypt. Default: `["access_token", "refresh_token", "id_token"]`. */
  fields?: readonly string[]
  /**
   * For how many (row, column) pairs this process remembers the last decrypted value (least recently
   * used first out), so the fresh `getAccessToken` path does not decrypt the same stored value again on
   * every call; a hit needs the exact same envelope for the same row and column. Plaintext tokens stay in this
   * process's memory, where the app holds them anyway. 0 disables it. Default 1000.
   */
  cacheSize?: number
  /**
   * Refuse stored values that are not encrypted: reading one fails with `TokenDecryptionError` (reason
   * "plaintext") instead of returning it as a token. Without it, a plaintext value (a row from before
   * encryption) is returned as it is, so anyone who can write to the table, without the key, can plant a
   * token of their choosing. Turn it on once `reencryptAccounts` has encrypted every row (its result says
   * when nothing is left); a sign-in still replaces a refused value with the provider's new token, and
   * `reencryptAccounts` reports such a value as undecryptable instead of encrypting it. Default false.
   */
  refusePlaintext?: boolean
}

/** The codec `tokenEncryption` returns: a `TokenCodec` that also says which key a stored value uses. */
export interface TokenEncryptionCodec extends TokenCodec {
  /** Synchronous: AES-GCM through node:crypto needs no await. */
  encode(value: string, field: string, account?: AccountKey): string
  /**
   * Throws `TokenDecryptionError`; returns a value without the envelope mark (plaintext from before
   * encryption) as is, unless `refusePlaintext` is set.
   */
  decode(stored: string, field: string, account?: AccountKey): string
  /** Id of the key new values are encrypted with (the first listed). */
  readonly currentKeyId: string
  /** Whether `stored` is an envelope of the current key (plaintext and older keys are not current). */
  isCurrent(stored: string, field?: string): boolean
  /** The key id of an envelope; `null` for a plaintext value; `undefined` for a value that is not a whole envelope. */
  keyIdOf(stored: string): string | null | undefined
}

/** The columns `tokenEncryption` encrypts when `fields` is not given. */
export const DEFAULT_ENCRYPTED_FIELDS = ["access_token", "refresh_token", "id_token"] as const

/** Every envelope starts with this; no RFC 6749 token does (see above). */
export const ENVELOPE_MARK = "\u00a7enc:"
const VERSION = "v1"
const PREFIX = `${ENVELOPE_MARK}${VERSION}:`
const NONCE_BYTES = 12
const TAG_BYTES = 16
const BASE64URL = /^[A-Za-z0-9_-]+$/
const COLUMN = /^[A-Za-z_][A-Za-z0-9_]*$/
const KEY_ID = /^[A-Za-z0-9._-]{1,32}$/
const AAD_DOMAIN = "authjs-adapter-refresh/token"

/**
 * Returns the codec to pass as `withTokenSync(adapter, db, { codec })`. Throws `EncryptionConfigError`
 * at once for a malformed key list or fields list.
 *
 *   codec: tokenEncryption({ keys: process.env.TOKEN_ENCRYPTION_KEYS })
 *
 * `decode` throws `TokenDecryptionError` (reason "malformed", "unknown_key", "authentication_failed",
 * "missing_account", "plaintext") and returns plaintext values (rows from before encryption) as they are,
 * unless `refusePlaintext` is set.
 *
 * @returns An AES-256-GCM codec bound to each account's key, to pass as `codec`.
 * @throws {@link EncryptionConfigError} for a malformed key list or fields list (key material never in the message).
 */
export function tokenEncryption(options: TokenEncryptionOptions): TokenEncryptionCodec {
  const keys = parseEncryptionKeys(options?.keys)
  const fields = checkFields(options.fields ?? DEFAULT_ENCRYPTED_FIELDS)
  const cache = new PlaintextCache(checkCacheSize(options.cacheSize))
  const refusePlaintext = options.refusePlaintext ?? false
  if (typeof refusePlaintext !== "boolean")
    throw new EncryptionConfigError("refusePlaintext", undefined, undefined, "must be true or false")
  // KeyObjects once: createCipheriv with a raw Buffer re-imports the key on every call.
  const byId = new Map<string, { id: string; secret: KeyObject }>(
    keys.map((key: ParsedKey) => [key.id, { id: key.id, secret: createSecretKey(key.bytes) }]),
  )
  const current = byId.get(keys[0]!.id)!
  const currentPrefix = `${PREFIX}${current.id}:`

  return {
    fields,
    currentKeyId: current.id,

    encode(value, field, account) {
      if (!isAccount(account)) throw new TokenDecryptionError(field, undefined, current.id, "missing_account")
      const nonce = nextNonce()
      const cipher = createCipheriv("aes-256-gcm", current.secret, nonce, { authTagLength: TAG_BYTES })
      cipher.setAAD(associatedData(current.id, account, field))
      const sealed = Buffer.concat([nonce, cipher.update(value, "utf8"), cipher.final(), cipher.getAuthTag()])
      const stored = `${currentPrefix}${sealed.toString("base64url")}`
      // The next read of the row this process just wrote needs no decryption.
      cache.set(cacheKey(field, account), stored, value)
      return stored
    },

    decode(stored, field, account) {
      if (!stored.startsWith(ENVELOPE_MARK)) {
        if (!refusePlaintext) return stored
        throw new TokenDecryptionError(field, isAccount(account) ? account.provider : undefined, undefined, "plaintext")
      }
      // Keyed by the exact envelope AND its row and column: a value copied or altered never hits. Looked
      // up before parsing: decoding the base64 of a 1 kB id token costs more than the look-up.
      const remembered = isAccount(account) ? cacheKey(field, account) : undefined
      const hit = remembered === undefined ? undefined : cache.get(remembered, stored)
      if (hit !== undefined) return hit
      const provider = isAccount(account) ? account.provider : undefined
      const envelope = parseEnvelope(stored)
      if (!envelope) throw new TokenDecryptionError(field, provider, undefined, "malformed")
      if (!isAccount(account)) throw new TokenDecryptionError(field, undefined, envelope.keyId, "missing_account")
      const key = byId.get(envelope.keyId)
      if (!key) throw new TokenDecryptionError(field, provider, envelope.keyId, "unknown_key")
      const { sealed } = envelope
      const decipher = createDecipheriv("aes-256-gcm", key.secret, sealed.subarray(0, NONCE_BYTES), {
        authTagLength: TAG_BYTES,
      })
      decipher.setAAD(associatedData(key.id, account, field))
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
      try {
        const plain = Buffer.concat([
          decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)),
          decipher.final(),
        ]).toString("utf8")
        cache.set(remembered!, stored, plain)
        return plain
      } catch {
        // OpenSSL's error says only "Unsupported state or unable to authenticate data"; nothing to keep.
        throw new TokenDecryptionError(field, provider, key.id, "authentication_failed")
      }
    },

    isCurrent: (stored) => stored.startsWith(currentPrefix),

    keyIdOf(stored) {
      if (!stored.startsWith(ENVELOPE_MARK)) return null
      return parseEnvelope(stored)?.keyId
    },
  }
}

// Nonces: 96 random bits each (NIST SP 800-38D §8.2.2), drawn from the CSPRNG 256 at a time, since one
// randomBytes call costs more than the encryption of a token.
let noncePool = Buffer.alloc(0)
let nonceAt = 0
function nextNonce(): Buffer {
  if (nonceAt + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_BYTES * 256)
    nonceAt = 0
  }
  const nonce = noncePool.subarray(nonceAt, nonceAt + NONCE_BYTES)
  nonceAt += NONCE_BYTES
  return nonce
}

/**
 * The last decrypted value of each (row, column), least recently used evicted first (a Map iterates in
 * insertion order). A hit needs the exact envelope: compared as a string, not hashed, since an id token's
 * envelope is over a kilobyte.
 */
class PlaintextCache {
  readonly #entries = new Map<string, { stored: string; plain: string }>()
  constructor(readonly size: number) {}
  get(key: string, stored: string): string | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined || entry.stored !== stored) return undefined
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    return entry.plain
  }
  set(key: string, stored: string, plain: string): void {
    if (this.size === 0) return
    this.#entries.delete(key)
    this.#entries.set(key, { stored, plain })
    if (this.#entries.size > this.size) this.#entries.delete(this.#entries.keys().next().value!)
  }
}

/** Length-prefixed, like the associated data: no two (column, account) pairs share a key. */
const cacheKey = (field: string, account: AccountKey): string =>
  `${field.length}:${field}${account.provider.length}:${account.provider}` +
  `${account.providerAccountId.length}:${account.providerAccountId}`

function checkCacheSize(size: unknown): number {
  if (size === undefined) return 1000
  if (!Number.isSafeInteger(size) || (size as number) < 0)
    throw new EncryptionConfigError("cacheSize", undefined, undefined, "must be a non-negative integer")
  return size as number
}

function parseEnvelope(stored: string): { keyId: string; sealed: Buffer } | undefined {
  if (!stored.startsWith(PREFIX)) return undefined
  const rest = stored.slice(PREFIX.length)
  const colon = rest.indexOf(":")
  if (colon <= 0) return undefined
  const keyId = rest.slice(0, colon)
  // Checked like a configured id, so stored text that is not one never reaches an error message.
  if (!KEY_ID.test(keyId)) return undefined
  const payload = rest.slice(colon + 1)
  if (!BASE64URL.test(payload)) return undefined
  const sealed = Buffer.from(payload, "base64url")
  // A truncated value may still be valid base64url: the length check catches what is left too short;
  // anything shorter than the original fails authentication.
  if (sealed.length < NONCE_BYTES + TAG_BYTES) return undefined
  return { keyId, sealed }
}

/** Length-prefixed (u32 big-endian) UTF-8 parts: no separator a provider's account id could contain. */
function associatedData(keyId: string, account: AccountKey, field: string): Buffer {
  const parts = [AAD_DOMAIN, VERSION, keyId, account.provider, account.providerAccountId, field].map((part) =>
    Buffer.from(part, "utf8"),
  )
  const out = Buffer.alloc(parts.reduce((sum, part) => sum + 4 + part.length, 0))
  let offset = 0
  for (const part of parts) {
    offset = out.writeUInt32BE(part.length, offset)
    offset += part.copy(out, offset)
  }
  return out
}

function isAccount(account: unknown): account is AccountKey {
  if (typeof account !== "object" || account === null) return false
  const { provider, providerAccountId } = account as Record<string, unknown>
  return (
    typeof provider === "string" && provider !== "" && typeof providerAccountId === "string" && providerAccountId !== ""
  )
}

function checkFields(fields: unknown): readonly string[] {
  if (!Array.isArray(fields) || fields.length === 0)
    throw new EncryptionConfigError("fields", undefined, undefined, "must be a non-empty list of column names")
  const seen = new Set<string>()
  fields.forEach((field: unknown, index) => {
    if (typeof field !== "string" || !COLUMN.test(field))
      throw new EncryptionConfigError("fields", index, undefined, "is not a plain column name")
    // expires_at is a number column; the codec only ever sees strings.
    if (field === "expires_at")
      throw new EncryptionConfigError(
        "fields",
        index,
        undefined,
        `is "expires_at", a number column that cannot hold ciphertext`,
      )
    if (seen.has(field)) throw new EncryptionConfigError("fields", index, undefined, `repeats "${field}"`)
    seen.add(field)
  })
  return Object.freeze([...fields] as string[])
}
