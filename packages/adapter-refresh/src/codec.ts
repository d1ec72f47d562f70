/**
 * Seam for encryption at rest. A codec turns a token value into what is stored and back. The core
 * applies it to the listed columns on every write and read, so the merge policy always compares
 * plaintext. The default is the identity: tokens are stored as Auth.js stores them.
 */
export interface TokenCodec {
  /** Columns the codec applies to, e.g. ["access_token", "refresh_token", "id_token"]. */
  readonly fields: readonly string[]
  encode(value: string, field: string): string | Promise<string>
  decode(stored: string, field: string): string | Promise<string>
}

type Values = Record<string, string | number | null>

async function mapFields(tokens: Values, codec: TokenCodec | undefined, direction: "encode" | "decode"): Promise<Values> {
  if (!codec) return tokens
  const out: Values = { ...tokens }
  for (const field of codec.fields) {
    const value = out[field]
    if (typeof value === "string") out[field] = await codec[direction](value, field)
  }
  return out
}

export const encodeTokens = (tokens: Values, codec: TokenCodec | undefined): Promise<Values> => mapFields(tokens, codec, "encode")
export const decodeTokens = (tokens: Values, codec: TokenCodec | undefined): Promise<Values> => mapFields(tokens, codec, "decode")
