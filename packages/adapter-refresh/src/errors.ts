/**
 * Every error this library throws is a `TokenSyncError` with a stable `code`. Messages name fields,
 * providers and reasons, never token values: Auth.js logs errors thrown from events and adapter calls.
 */
export type TokenSyncErrorCode =
  | "INVALID_ACCOUNT_INPUT"
  | "ACCOUNT_LINKED_TO_ANOTHER_USER"
  | "UNSUPPORTED_DATABASE"
  | "ACCOUNT_STORE_FAILED"

export class TokenSyncError extends Error {
  readonly code: TokenSyncErrorCode
  constructor(code: TokenSyncErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** The account passed in is unusable; nothing was written. */
export class InvalidAccountInputError extends TokenSyncError {
  /** The offending field, e.g. "expires_at" or "providerAccountId". */
  readonly field: string
  constructor(field: string, reason: string) {
    super("INVALID_ACCOUNT_INPUT", `Invalid account input: "${field}" ${reason}. Nothing was written.`)
    this.field = field
  }
}

/**
 * The (provider, providerAccountId) is already linked to a different, existing user. Re-pointing it
 * would hand that user's provider account to someone else, so it is refused and nothing is written.
 */
export class AccountLinkedToAnotherUserError extends TokenSyncError {
  readonly provider: string
  constructor(provider: string) {
    super(
      "ACCOUNT_LINKED_TO_ANOTHER_USER",
      `This ${provider} account is already linked to another user; refusing to re-link it. Nothing was written.`,
    )
    this.provider = provider
  }
}

/** `withTokenSync` was given a `db` it cannot use. */
export class UnsupportedDatabaseError extends TokenSyncError {
  constructor(message: string) {
    super("UNSUPPORTED_DATABASE", message)
  }
}

/**
 * The store failed (connection lost, constraint, timeout). The transaction was rolled back, so
 * nothing was written. Only the driver error's class name and SQLSTATE/driver code are kept: the
 * driver error itself is not attached as `cause`, because some drivers (Prisma's validation errors,
 * for one) echo the query's arguments, tokens included, in their message.
 */
export class AccountStoreError extends TokenSyncError {
  readonly store: string
  /** The driver error's class name, e.g. "DatabaseError" or "PrismaClientKnownRequestError". */
  readonly driverErrorName: string | undefined
  /** SQLSTATE (node-postgres) or driver code (Prisma "P2002", Node "ECONNREFUSED"), when there is one. */
  readonly driverErrorCode: string | undefined
  constructor(store: string, operation: string, driverError: unknown) {
    const name = driverError instanceof Error ? driverError.name : undefined
    const rawCode = typeof driverError === "object" && driverError !== null ? (driverError as { code?: unknown }).code : undefined
    const code = typeof rawCode === "string" || typeof rawCode === "number" ? String(rawCode) : undefined
    const detail = [name, code].filter(Boolean).join(" ")
    super(
      "ACCOUNT_STORE_FAILED",
      `The ${store} account store failed during ${operation}${detail ? ` (${detail})` : ""}; the transaction was rolled back and nothing was written.`,
    )
    this.store = store
    this.driverErrorName = name
    this.driverErrorCode = code
  }
}
