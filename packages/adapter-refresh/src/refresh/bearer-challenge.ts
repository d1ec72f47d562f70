/**
 * Pure reading of an API's refusal of an access token: the `WWW-Authenticate` header of a 401 or 403
 * (RFC 7235 §4.1 challenges, RFC 6750 §3 and §3.1 Bearer attributes and error codes). The building block of
 * the refused-token helper (issue 19, part 1): `invalid_token` means refresh and retry once,
 * `insufficient_scope` means the user must authorize more scopes (InsufficientScopeError), anything else is
 * the API's business. Internal: `fetchWithAccessToken` (fetch-with-access-token.ts) is the public face.
 *
 * The header is untrusted text: it is refused (not trimmed: a cut quoted string would read as something
 * else) above MAX_CHALLENGE_HEADER_LENGTH, the number of challenges and attributes is bounded, a challenge
 * that repeats an attribute or breaks the grammar is left out, and no value is kept that RFC 6750 would
 * not allow (error codes and descriptions are printable ASCII; scopes are scope-tokens).
 * @internal
 */
import { InsufficientScopeError } from "../errors.js"

/** Longest header read, in characters: real Bearer challenges are a few hundred. */
export const MAX_CHALLENGE_HEADER_LENGTH = 4096
const MAX_CHALLENGES = 16
const MAX_PARAMS = 32

/** One challenge: its scheme and attributes, names lower-cased (RFC 7235: case-insensitive). @internal */
export interface Challenge {
  scheme: string
  params: Record<string, string>
  /** The token68 form (`Basic abc==`) instead of attributes. */
  token68?: string
}

/** RFC 7230 tchar, as a character class. */
const TCHAR = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]"
const TOKEN = new RegExp(`${TCHAR}+`, "y")
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*/y
/** qdtext and the character after a backslash (RFC 7230 §3.2.6); obs-text %x80-FF included. */
const QUOTABLE = /[\t\x20-\x7E\x80-\xFF]/

/** `header` split into challenges; undefined when it is too long or breaks the grammar before any challenge. */
export function parseChallenges(header: string): Challenge[] | undefined {
  if (header.length > MAX_CHALLENGE_HEADER_LENGTH) return undefined
  const challenges: Challenge[] = []
  let i = 0
  const skipWhitespace = (): void => {
    while (header[i] === " " || header[i] === "\t") i++
  }
  /** The match of a sticky pattern at `i`, consumed. */
  const take = (pattern: RegExp): string | undefined => {
    pattern.lastIndex = i
    const match = pattern.exec(header)
    if (!match) return undefined
    i += match[0].length
    return match[0]
  }
  const token = (): string | undefined => take(TOKEN)
  const quoted = (): string | undefined => {
    if (header[i] !== '"') return undefined
    let value = ""
    for (let j = i + 1; j < header.length; j++) {
      const c = header[j]!
      if (c === '"') {
        i = j + 1
        return value
      }
      if (c === "\\") {
        j++
        if (j >= header.length || !QUOTABLE.test(header[j]!)) return undefined
        value += header[j]
      } else if (QUOTABLE.test(c)) {
        value += c
      } else {
        return undefined
      }
    }
    return undefined // unterminated
  }
  /** At `i`: a `name = value` pair, or undefined (and `i` unchanged). */
  const param = (): [string, string] | undefined => {
    const start = i
    const name = token()
    if (name !== undefined) {
      skipWhitespace()
      if (header[i] === "=") {
        i++
        skipWhitespace()
        const value = header[i] === '"' ? quoted() : token()
        if (value !== undefined) return [name.toLowerCase(), value]
      }
    }
    i = start
    return undefined
  }
  /** Whether `i` is at the end of a list element (OWS then a comma or the end). */
  const atElementEnd = (): boolean => {
    const start = i
    skipWhitespace()
    const end = i >= header.length || header[i] === ","
    i = start
    return end
  }

  while (i < header.length) {
    // Empty list elements are allowed (RFC 7230 §7).
    while (header[i] === "," || header[i] === " " || header[i] === "\t") i++
    if (i >= header.length) break
    const scheme = token()
    if (scheme === undefined) return challenges.length ? challenges : undefined
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} }
    let valid = true
    let count = 0
    skipWhitespace()
    const first = param()
    if (first === undefined) {
      const t68 = take(TOKEN68)
      if (t68 !== undefined) challenge.token68 = t68
    } else {
      let next: [string, string] | undefined = first
      while (next) {
        if (++count > MAX_PARAMS || Object.hasOwn(challenge.params, next[0])) valid = false
        else challenge.params[next[0]] = next[1]
        if (!atElementEnd()) {
          valid = false
          break
        }
        // A comma, then either another attribute of this challenge or the next challenge's scheme.
        skipWhitespace()
        if (header[i] !== ",") break
        const afterComma = i
        i++
        while (header[i] === "," || header[i] === " " || header[i] === "\t") i++
        next = param()
        if (!next) i = afterComma
      }
    }
    // A challenge that breaks the grammar here: skip to the next comma and read on from there.
    if (!atElementEnd()) {
      valid = false
      while (i < header.length && header[i] !== ",") i++
    }
    if (valid) challenges.push(challenge)
    if (challenges.length >= MAX_CHALLENGES) break
  }
  return challenges
}

/**
 * What an API's 401/403 means for the access token, from its Bearer challenge (RFC 6750 §3.1):
 * - "invalid_token": expired, revoked or malformed: refresh and retry once;
 * - "insufficient_scope": the token lacks `scopes` (the API's `scope` attribute; empty when it named none):
 *   a refresh cannot help, the user must authorize them;
 * - "other": no Bearer challenge, no error code, another code (`invalid_request`), a status that is not
 *   401/403, or a header too long or malformed to trust (`reason` says which).
 * @internal
 */
export type BearerRefusal =
  | { kind: "invalid_token"; status: number; description?: string; realm?: string }
  | { kind: "insufficient_scope"; status: number; scopes: string[]; description?: string; realm?: string }
  | { kind: "other"; status: number; reason: OtherRefusalReason; error?: string }

export type OtherRefusalReason =
  "not_a_refusal_status" | "no_header" | "unreadable_header" | "no_bearer_challenge" | "no_error_code" | "other_error"

/** RFC 6750 §3: error and error_description values are %x20-21 / %x23-5B / %x5D-7E. */
const ERROR_TEXT = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/
const MAX_DESCRIPTION_LENGTH = 512

/**
 * Classifies an API's answer by its status and `WWW-Authenticate` header (`response.headers.get(...)`,
 * which joins several headers with ", "). The first Bearer challenge decides. A 401 or a 403 may carry
 * either code: RFC 6750 says which status each SHOULD come with, not MUST, and APIs differ.
 * @see RFC 6750 §3, §3.1; RFC 7235 §4.1
 * @internal
 */
export function classifyBearerRefusal(status: number, header: string | null | undefined): BearerRefusal {
  if (status !== 401 && status !== 403) return { kind: "other", status, reason: "not_a_refusal_status" }
  if (header === null || header === undefined || header.trim() === "")
    return { kind: "other", status, reason: "no_header" }
  const challenges = parseChallenges(header)
  if (challenges === undefined) return { kind: "other", status, reason: "unreadable_header" }
  const bearer = challenges.find((challenge) => challenge.scheme === "bearer")
  if (!bearer) return { kind: "other", status, reason: "no_bearer_challenge" }
  const error = bearer.params.error
  if (error === undefined) return { kind: "other", status, reason: "no_error_code" }
  if (!ERROR_TEXT.test(error)) return { kind: "other", status, reason: "unreadable_header" }
  const description = bearer.params.error_description
  const details = {
    ...(description !== undefined && ERROR_TEXT.test(description)
      ? { description: description.slice(0, MAX_DESCRIPTION_LENGTH) }
      : {}),
    ...(bearer.params.realm !== undefined && ERROR_TEXT.test(bearer.params.realm)
      ? { realm: bearer.params.realm.slice(0, MAX_DESCRIPTION_LENGTH) }
      : {}),
  }
  if (error === "invalid_token") return { kind: "invalid_token", status, ...details }
  if (error === "insufficient_scope") {
    const scopes = [...new Set((bearer.params.scope ?? "").split(" ").filter((scope) => scope !== ""))]
    // A scope list with anything but scope-tokens is not trusted as a whole.
    return {
      kind: "insufficient_scope",
      status,
      scopes: scopes.every((scope) => SCOPE_TOKEN.test(scope)) ? scopes : [],
      ...details,
    }
  }
  return { kind: "other", status, reason: "other_error", error }
}

/** The InsufficientScopeError an `insufficient_scope` refusal means, for `provider`'s access token. @internal */
export function insufficientScopeErrorOf(
  provider: string,
  refusal: Extract<BearerRefusal, { kind: "insufficient_scope" }>,
): InsufficientScopeError {
  return new InsufficientScopeError(provider, refusal.scopes, "resource_server")
}
