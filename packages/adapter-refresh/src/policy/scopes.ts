/**
 * Pure scope comparison for `getAccessToken({ scopes })`: does the stored grant hold the scopes a caller
 * needs? RFC 6749 §3.3: a scope value is a list of space-delimited, case-sensitive strings, whose order
 * does not matter. Two known providers store their grant in another shape, and would give false "missing"
 * answers if compared literally, so each has a small table here:
 *   - Google answers `email` and `profile` with their long names
 *     (`https://www.googleapis.com/auth/userinfo.email`, `.../userinfo.profile`); `openid` stays as it is.
 *   - GitHub separates scopes with commas (`repo,gist`), and a broad scope grants narrower ones
 *     (`repo` grants `public_repo`, `user` grants `user:email`), per its "Scopes for OAuth apps" page.
 * A table rather than a caller-supplied equivalence: the common case needs no configuration, and for any
 * other provider the caller already has the exact answer, which is to ask for the names the provider
 * reports (what its token answer puts in `scope`, and so what is stored).
 * @internal
 */
import { InvalidAccountInputError } from "../errors.js"

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), printable ASCII but space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/
/** Most scopes one call may ask for, and the longest one: a bound on caller input, far above real use. */
export const MAX_REQUIRED_SCOPES = 256
export const MAX_SCOPE_LENGTH = 2048

/** How one provider writes its granted scopes. @internal */
export interface ScopeDialect {
  readonly name: "rfc6749" | "google" | "github"
  /** What separates scopes in the stored value. */
  readonly separator: RegExp
  /** A granted scope -> the other scopes it grants too (aliases go both ways; hierarchies one way). */
  readonly grants: Readonly<Record<string, readonly string[]>>
}

/** RFC 6749 §3.3 as written. Whitespace other than a space cannot be part of a scope-token: it separates too. */
export const RFC6749_SCOPES: ScopeDialect = { name: "rfc6749", separator: /\s+/, grants: {} }

const GOOGLE_EMAIL = "https://www.googleapis.com/auth/userinfo.email"
const GOOGLE_PROFILE = "https://www.googleapis.com/auth/userinfo.profile"
export const GOOGLE_SCOPES: ScopeDialect = {
  name: "google",
  separator: /\s+/,
  grants: {
    email: [GOOGLE_EMAIL],
    [GOOGLE_EMAIL]: ["email"],
    profile: [GOOGLE_PROFILE],
    [GOOGLE_PROFILE]: ["profile"],
  },
}

export const GITHUB_SCOPES: ScopeDialect = {
  name: "github",
  // GitHub's token answer says `repo,gist`; its X-OAuth-Scopes header says `repo, gist`.
  separator: /[\s,]+/,
  grants: {
    repo: ["repo:status", "repo_deployment", "public_repo", "repo:invite", "security_events"],
    user: ["read:user", "user:email", "user:follow"],
    "admin:org": ["write:org", "read:org"],
    "write:org": ["read:org"],
    "admin:public_key": ["write:public_key", "read:public_key"],
    "write:public_key": ["read:public_key"],
    "admin:repo_hook": ["write:repo_hook", "read:repo_hook"],
    "write:repo_hook": ["read:repo_hook"],
    "admin:gpg_key": ["write:gpg_key", "read:gpg_key"],
    "write:gpg_key": ["read:gpg_key"],
    "write:packages": ["read:packages"],
    project: ["read:project"],
    "write:discussion": ["read:discussion"],
  },
}

const DIALECT_BY_HOST: Readonly<Record<string, ScopeDialect>> = {
  "accounts.google.com": GOOGLE_SCOPES,
  "oauth2.googleapis.com": GOOGLE_SCOPES,
  "www.googleapis.com": GOOGLE_SCOPES,
  "github.com": GITHUB_SCOPES,
}
const DIALECT_BY_ID: Readonly<Record<string, ScopeDialect>> = { google: GOOGLE_SCOPES, github: GITHUB_SCOPES }

/**
 * The dialect of a configured provider: by the host of its issuer, token endpoint or discovery URL (so a
 * second Google provider with its own id is still Google), else by Auth.js's built-in id, else RFC 6749.
 * @internal
 */
export function scopeDialectOf(provider: {
  id: string
  issuer?: string | undefined
  tokenEndpoint?: string | undefined
  discoveryUrl?: string | undefined
}): ScopeDialect {
  for (const url of [provider.issuer, provider.tokenEndpoint, provider.discoveryUrl]) {
    if (url === undefined || !URL.canParse(url)) continue
    const dialect = DIALECT_BY_HOST[new URL(url).hostname]
    if (dialect) return dialect
  }
  return DIALECT_BY_ID[provider.id] ?? RFC6749_SCOPES
}

/**
 * The `scopes` option of `getAccessToken`, checked: an array of scope-tokens, or one space-delimited string
 * (RFC 6749 §3.3). Duplicates are dropped, order kept. Undefined, `[]` and `""` ask for nothing.
 * @throws InvalidAccountInputError (field "scopes") naming the entry at fault; never its text.
 * @internal
 */
export function requiredScopesOf(input: unknown): string[] {
  if (input === undefined) return []
  let entries: unknown[]
  if (typeof input === "string") {
    if (input.length > MAX_REQUIRED_SCOPES * (MAX_SCOPE_LENGTH + 1))
      throw new InvalidAccountInputError("scopes", "is too long")
    entries = input.split(" ").filter((part) => part !== "")
  } else if (Array.isArray(input)) {
    entries = input
  } else {
    throw new InvalidAccountInputError("scopes", "must be an array of scope strings or a space-delimited string")
  }
  if (entries.length > MAX_REQUIRED_SCOPES)
    throw new InvalidAccountInputError("scopes", `holds more than ${MAX_REQUIRED_SCOPES} scopes`)
  const out = new Set<string>()
  entries.forEach((entry, index) => {
    const where = typeof input === "string" ? `scope #${index}` : `entry #${index}`
    if (typeof entry !== "string") throw new InvalidAccountInputError("scopes", `${where} is not a string`)
    if (entry.length > MAX_SCOPE_LENGTH)
      throw new InvalidAccountInputError("scopes", `${where} is longer than ${MAX_SCOPE_LENGTH} characters`)
    if (!SCOPE_TOKEN.test(entry))
      throw new InvalidAccountInputError(
        "scopes",
        `${where} is not one RFC 6749 scope-token (printable ASCII without spaces, '"' or '\\')`,
      )
    out.add(entry)
  })
  return [...out]
}

/** The scopes a stored value grants, expanded through the dialect's table (transitively). */
function grantedScopes(stored: string, dialect: ScopeDialect): Set<string> {
  const granted = new Set(stored.split(dialect.separator).filter((part) => part !== ""))
  const queue = [...granted]
  for (let scope = queue.pop(); scope !== undefined; scope = queue.pop()) {
    for (const implied of dialect.grants[scope] ?? []) {
      if (!granted.has(implied)) {
        granted.add(implied)
        queue.push(implied)
      }
    }
  }
  return granted
}

/**
 * The required scopes the stored grant lacks, in the order asked; `[]` when it holds them all. Undefined
 * when the stored scope is unknown (null, absent, not a string, or empty): an unknown grant is not a
 * lacking one, so the caller gets its token and the API has the last word.
 * @internal
 */
export function missingScopes(
  required: readonly string[],
  storedScope: unknown,
  dialect: ScopeDialect = RFC6749_SCOPES,
): string[] | undefined {
  if (typeof storedScope !== "string" || storedScope.trim() === "") return undefined
  if (required.length === 0) return []
  const granted = grantedScopes(storedScope, dialect)
  return required.filter((scope) => !granted.has(scope))
}
