import { EncryptionConfigError } from "../errors.js"

/**
 * Encryption keys for `tokenEncryption`: each a key id (stored in every envelope, so a value names the
 * key that sealed it) and 32 random bytes (AES-256). The first key encrypts; every listed key decrypts.
 */
export interface EncryptionKey {
  /** 1 to 32 characters of `A-Z a-z 0-9 . _ -`, e.g. "2026-12". Not secret: it is stored in clear. */
  id: string
  /** 32 bytes, as a Uint8Array/Buffer or a base64 / base64url string (e.g. `openssl rand -base64 32`). */
  key: Uint8Array | string
}

/**
 * What `tokenEncryption({ keys })` accepts: a list of keys, or the string form of an environment
 * variable, `"<id>:<base64 key>,<id>:<base64 key>"` (current key first; spaces around entries ignored).
 */
export type EncryptionKeysInput = readonly EncryptionKey[] | string

/** A validated key: the id and its 32 bytes. */
export interface ParsedKey {
  readonly id: string
  readonly bytes: Buffer
}

const KEY_ID = /^[A-Za-z0-9._-]{1,32}$/
const KEY_BYTES = 32
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/

/**
 * Validates keys and returns them in order (current first). Throws `EncryptionConfigError` naming the
 * entry and what is wrong with it; key material never appears in the message.
 */
export function parseEncryptionKeys(input: EncryptionKeysInput | undefined): ParsedKey[] {
  const entries = typeof input === "string" ? splitKeyString(input) : input
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new EncryptionConfigError(
      "keys",
      undefined,
      undefined,
      typeof input === "string" || input === undefined
        ? "no key is given (empty or unset key list)"
        : "keys must be a non-empty array or a key string",
    )
  }
  const seen = new Set<string>()
  return (entries as readonly EncryptionKey[]).map((entry, index) => {
    if (typeof entry !== "object" || entry === null)
      throw new EncryptionConfigError("keys", index, undefined, "is not an { id, key } object")
    const { id, key } = entry
    if (typeof id !== "string" || !KEY_ID.test(id)) {
      throw new EncryptionConfigError(
        "keys",
        index,
        undefined,
        `has an invalid id: expected 1 to 32 characters of A-Z a-z 0-9 . _ -`,
      )
    }
    if (seen.has(id)) throw new EncryptionConfigError("keys", index, id, "repeats a key id already listed")
    seen.add(id)
    const bytes = keyBytes(key)
    if (bytes === undefined)
      throw new EncryptionConfigError("keys", index, id, "has a key that is neither bytes nor a base64 string")
    if (bytes.length !== KEY_BYTES)
      throw new EncryptionConfigError(
        "keys",
        index,
        id,
        `has a key of ${bytes.length} bytes; AES-256 needs exactly ${KEY_BYTES}`,
      )
    return { id, bytes }
  })
}

function splitKeyString(input: string): EncryptionKey[] {
  return input
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry, index) => {
      const colon = entry.indexOf(":")
      if (colon < 0) throw new EncryptionConfigError("keys", index, undefined, `is not of the form "<id>:<base64 key>"`)
      return { id: entry.slice(0, colon), key: entry.slice(colon + 1) }
    })
}

function keyBytes(key: unknown): Buffer | undefined {
  if (key instanceof Uint8Array) return Buffer.from(key)
  if (typeof key !== "string") return undefined
  const text = key.trim()
  // Buffer.from(base64) silently skips bad characters: check the alphabet first.
  if (!BASE64.test(text)) return undefined
  return Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64")
}
