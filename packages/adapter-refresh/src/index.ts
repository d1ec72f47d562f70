/**
 * authjs-adapter-refresh: decorates an Auth.js adapter so that OAuth tokens are stored on every sign-in and
 * refreshed at most once per expiry across processes. Start with {@link withTokenSync}.
 *
 * Internals are not exported here; the `AccountStore` seam is, for custom stores (see docs/VERSIONING.md).
 * @module
 */
export { withTokenSync } from "./with-token-sync.js"
export type {
  SignOutEventMessage,
  TokenSyncAdapter,
  TokenSyncMethods,
  TokenSyncOptions,
  WithTokenSyncNeedsTheClient,
} from "./with-token-sync.js"
export type {
  AdapterAccount as TokenSyncAccount,
  AdapterUser as TokenSyncUser,
  AuthjsAdapter,
  LinkableAccount,
  SignInAccount,
  SignInEventMessage,
} from "./authjs-types.js"
export type { SyncableAccount } from "./account-sync.js"
export type { TokenSyncDatabase } from "./detect-store.js"

// The AccountStore seam: public, so that custom stores can be written (and checked with the kit).
export type {
  AccountKey,
  AccountLockOptions,
  AccountReadOptions,
  AccountPatch,
  AccountRowScope,
  AccountRow,
  AccountScanPage,
  AccountStore,
  AccountLeases,
  HeldLease,
  LeaseTake,
  LockedAccount,
  OwnTokensWritten,
  ReauthMark,
  ReauthMarkPage,
  StandardTokenColumns,
  StoredAccountRow,
  TokenColumnValue,
  UserId,
} from "./store.js"
export { STANDARD_TOKEN_FIELDS } from "./store.js"
// A store without transactions (Redis, DynamoDB, an HTTP API): its minimum contract and the composer.
export { leaseLockedAccountStore } from "./lease-locked-store.js"
export type {
  AccountLockLeases,
  FencedWrite,
  LeaseLockedStoreOptions,
  LeaseLockedStoreParts,
  LockLeaseTake,
} from "./lease-locked-store.js"
export { prismaAccountStore } from "./stores/prisma.js"
export { kyselyAccountStore } from "./stores/kysely.js"
export { typeormAccountStore } from "./stores/typeorm.js"
export { pgAccountStore } from "./stores/pg.js"
export { drizzleAccountStore } from "./stores/drizzle.js"
export { mikroOrmAccountStore } from "./stores/mikroorm.js"
export { sequelizeAccountStore } from "./stores/sequelize.js"

// Refresh: options, results and the session helpers.
export type { RefreshOptions, GetAccessTokenParams, AccessTokenResult } from "./refresh/engine-types.js"
export type { RefreshExpiringOptions, RefreshExpiringProgress } from "./refresh/background.js"
export { REAUTH_LIST_MAX_LIMIT } from "./reauth-list.js"
export type { AccountNeedingReauth, AccountsNeedingReauthPage, AccountsNeedingReauthParams } from "./reauth-list.js"
export type { RefreshProviderConfig } from "./refresh/provider.js"
/**
 * `refresh.revocation`: opt-in, per provider, RFC 7009 token revocation. After `unlinkAccount` or
 * `deleteUser` has deleted the row (its tokens read, and decrypted, before), the refresh token (the access
 * token when the row has none) is revoked at the provider's configured or discovered `revocation_endpoint`;
 * with a provider's `onSignOut`, the access token on sign-out. The endpoint must be https (plain http on
 * loopback only). Bounded by `timeoutMs` (default 5 000); the unlink, deletion or sign-out never fails
 * because of it (they resolve to what the wrapped adapter returns); every outcome is a `RevocationEvent` on
 * `TOKEN_SYNC_CHANNELS.revocation`, never carrying a token. Best effort: a crash between the delete and the
 * request leaves the grant alive at the provider.
 *
 * @returns Types only; the behaviour comes with `withTokenSync(adapter, db, { refresh: { revocation } })`.
 * @throws `InvalidOptionsError` from `withTokenSync` when a provider is not in `refresh.providers`, is named
 *   twice, has a configured endpoint that is not https (nor http on loopback), or has neither an endpoint nor
 *   an issuer/wellKnown to discover one from.
 * @see RFC 7009 §2 (https://www.rfc-editor.org/rfc/rfc7009#section-2)
 */
export type { RevocationOptions, RevocationProviderOptions } from "./refresh/revocation.js"
export { fetchWithAccessToken } from "./refresh/fetch-with-access-token.js"
export type { AccessTokenSource } from "./refresh/fetch-with-access-token.js"
export { getSessionAccessToken, sessionErrorOf } from "./refresh/session.js"
export type { SessionAccessToken, SessionTokenError } from "./refresh/session.js"

// Encryption at rest.
export type { TokenCodec } from "./codec.js"
export { tokenEncryption, DEFAULT_ENCRYPTED_FIELDS } from "./encryption/token-encryption.js"
export type { TokenEncryptionCodec, TokenEncryptionOptions } from "./encryption/token-encryption.js"
export type { EncryptionKey, EncryptionKeysInput } from "./encryption/keys.js"
export { reencryptAccounts } from "./encryption/reencrypt.js"
export type { ReencryptOptions, ReencryptProgress, ReencryptResult, ReencryptFailure } from "./encryption/reencrypt.js"

// Token cache.
export type {
  TokenCacheOptions,
  TokenCacheInvalidation,
  InvalidationListener,
  TokenCacheHandle,
  TokenCacheStats,
} from "./cache/token-cache.js"
export {
  pgNotifyInvalidation,
  pgNotifyTriggerSql,
  TOKEN_CACHE_CHANNEL,
  TOKEN_CACHE_TRIGGER,
} from "./cache/pg-notify.js"
export type {
  PgNotifyTables,
  PgNotifyInvalidationOptions,
  PgListenPool,
  PgListenClient,
  PgNotification,
} from "./cache/pg-notify.js"

// Observability.
export { TOKEN_SYNC_CHANNELS } from "./observability.js"
export type { SyncEvent, LockWaitEvent, RefreshRequestEvent, AccessTokenEvent, FailureEvent } from "./observability.js"
/**
 * One revocation's outcome (on `TOKEN_SYNC_CHANNELS.revocation`): provider, trigger, token type, "revoked" or
 * "failed" with a reason, whether the token was sent, the endpoint's status and OAuth error code. Never a token.
 *
 * @returns A type only: events are published by `withTokenSync` with `refresh.revocation`.
 * @throws Nothing: publishing never fails the operation.
 * @see RFC 7009 §2 (https://www.rfc-editor.org/rfc/rfc7009#section-2)
 */
export type { RevocationEvent } from "./observability.js"
export type { ReauthEvent, ReauthReason } from "./observability.js"
/** The refresh-token expiry column's "never expires" value (`refresh.refreshTokenExpiryColumn`). */
export { REFRESH_TOKEN_NEVER_EXPIRES } from "./policy/refresh-token-expiry.js"

// Errors: every failure is a TokenSyncError with a stable `code`.
export {
  TokenSyncError,
  InvalidAccountInputError,
  AccountLinkedToAnotherUserError,
  AmbiguousAccountOwnerError,
  UnsupportedDatabaseError,
  InvalidOptionsError,
  AccountStoreError,
  AccountLockLostError,
  AccountSchemaError,
  RefreshTokenError,
  ProviderUnavailableError,
  AccountNotLinkedError,
  AmbiguousAccountError,
  RefreshNotConfiguredError,
  RefreshLockTimeoutError,
  EncryptionConfigError,
  TokenDecryptionError,
  TokenCodecError,
  RefreshPersistError,
  AccountBusyError,
  InsufficientScopeError,
  RefreshLeaseExpiredError,
  AccessTokenRefusedError,
  ReauthListUnavailableError,
} from "./errors.js"
export type {
  TokenSyncErrorCode,
  RefreshTokenErrorReason,
  ProviderFailureKind,
  TokenDecryptionFailure,
  WaitedFor,
  InsufficientScopeSource,
  AccessTokenRefusedReason,
  ReauthListMissing,
} from "./errors.js"
