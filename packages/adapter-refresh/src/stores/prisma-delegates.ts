/**
 * The Prisma store's delegate path: the account and user models reached through the client's delegates,
 * as @auth/prisma-adapter does, so `@map` / `@@map` names and `@updatedAt` keep working. Prisma needs this
 * path (its names are hidden behind the delegates); only the one-statement sign-in and the leases are raw
 * SQL. Schema errors become an AccountSchemaError naming the model and option. Internal: not part of the
 * package's exports.
 */
import { AccountSchemaError, TOKEN_COLUMN_HINT } from "../errors.js"
import type {
  AccountKey,
  AccountPatch,
  AccountRow,
  AccountRowScope,
  AccountScanPage,
  LockedAccount,
  ReauthMark,
  ReauthMarkPage,
  StoredAccountRow,
  UserId,
} from "../store.js"
import {
  checkMarkColumn,
  checkMarkLimit,
  checkPageLimit,
  checkTokenColumn,
  definedEntries,
  ownerOf,
  toStoredAccountRow,
  uniqueMarks,
} from "../store-support.js"

/** The delegate methods used on the account model. @internal */
export interface AccountDelegateLike {
  findMany(args: {
    where: Record<string, unknown>
    select?: Record<string, true>
    orderBy?: Record<string, "asc" | "desc">[]
    take?: number
  }): PromiseLike<Record<string, unknown>[]>
  create(args: { data: Record<string, unknown> }): PromiseLike<unknown>
  updateMany(args: { where: Record<string, unknown>; data: Record<string, unknown> }): PromiseLike<unknown>
}

/** The delegate method used on the user model. @internal */
export interface UserDelegateLike {
  findFirst(args: { where: Record<string, unknown>; select: Record<string, true> }): PromiseLike<unknown>
}

function tokenData(tokens: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(definedEntries(tokens).map(([field, value]) => [checkTokenColumn(field), value]))
}

/** The delegate `property` of `client`, checked to have `methods`; else an AccountSchemaError. @internal */
export function delegate<D>(client: unknown, property: string, methods: readonly string[], option: string): D {
  const candidate = (client as Record<string, unknown>)[property]
  const ok =
    typeof candidate === "object" &&
    candidate !== null &&
    methods.every((method) => typeof (candidate as Record<string, unknown>)[method] === "function")
  if (!ok) {
    // Typed like a missing table: the store looked for a model that is not there.
    throw new AccountSchemaError({
      store: "prisma",
      kind: "model",
      table: property,
      option:
        `prismaAccountStore(prisma, { ${option} }): the Prisma client has no model delegate "${property}"; ` +
        `set ${option} to the delegate's property name (the model name with a lower-case first letter)`,
      atConstruction: true,
    })
  }
  return candidate as D
}

const IDENTIFIER_AT_END = /(?:^|\.)([A-Za-z_][A-Za-z0-9_]*)$/
const UNKNOWN_ARGUMENT = /Unknown argument `([A-Za-z_][A-Za-z0-9_]*)`/

/**
 * Turns Prisma's "table does not exist" (P2021), "column does not exist" (P2022) and "unknown argument"
 * (a field the model lacks, e.g. from tokenFields) into an `AccountSchemaError` naming the model, the
 * column and the option that sets it; any other error is returned as it is. A column name is only taken
 * from the error when it is one the store sent (`sent`) or a plain identifier from Prisma's metadata.
 */
function schemaMismatch(error: unknown, model: string, option: string, sent: readonly string[] = []): unknown {
  if (typeof error !== "object" || error === null) return error
  const { code, meta, name, message } = error as {
    code?: unknown
    meta?: { driverAdapterError?: { cause?: { column?: unknown } }; column?: unknown }
    name?: unknown
    message?: unknown
  }
  const store = "prisma"
  if (code === "P2021")
    return new AccountSchemaError({ store, kind: "model", table: model, option, driverErrorCode: code })
  if (code === "P2022") {
    const raw = meta?.column ?? meta?.driverAdapterError?.cause?.column
    const column = (typeof raw === "string" ? IDENTIFIER_AT_END.exec(raw)?.[1] : undefined) ?? "(unknown)"
    return new AccountSchemaError({
      store,
      kind: "model",
      table: model,
      column,
      option,
      driverErrorCode: code,
      hint: TOKEN_COLUMN_HINT,
    })
  }
  if (name === "PrismaClientValidationError" && typeof message === "string") {
    const column = UNKNOWN_ARGUMENT.exec(message)?.[1]
    if (column !== undefined && sent.includes(column))
      return new AccountSchemaError({ store, kind: "model", table: model, column, option, hint: TOKEN_COLUMN_HINT })
  }
  return error
}

/** Runs a delegate call, with schema errors made explicit. @internal */
export async function onModel<T>(
  call: () => PromiseLike<T>,
  model: string,
  option: string,
  sent?: readonly string[],
): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw schemaMismatch(error, model, option, sent)
  }
}

/** @internal */
export const ACCOUNT_METHODS = ["findMany", "create", "updateMany"] as const
/** @internal */
export const USER_METHODS = ["findFirst"] as const

/** The models' delegate properties and the options that name them (for errors). @internal */
export interface PrismaModels {
  account: string
  user: string
  accountOption: string
  userOption: string
}

/** The LockedAccount of one key through the delegates of `tx`, the transaction that holds its lock. @internal */
export function prismaLockedAccount(
  tx: unknown,
  accounts: AccountDelegateLike,
  key: AccountKey,
  models: PrismaModels,
): LockedAccount {
  const users = delegate<UserDelegateLike>(tx, models.user, USER_METHODS, "userModel")
  const where = { provider: key.provider, providerAccountId: key.providerAccountId }
  const onAccounts = <R>(call: () => PromiseLike<R>, sent?: readonly string[]) =>
    onModel(call, models.account, models.accountOption, sent)
  // Prisma checks argument types: an `Int` / `BigInt` user id must be passed as a number / bigint. Callers'
  // ids arrive as they typed them; a row's `userId` reaches the core as a string, so the id as Prisma read
  // it is kept and handed back whenever the core passes that string.
  const idsAsRead = new Map<string, unknown>()
  const asRead = (userId: UserId): unknown =>
    typeof userId === "string" && idsAsRead.has(userId) ? idsAsRead.get(userId) : userId
  return {
    async readAll() {
      // @@id([provider, providerAccountId]) allows one row; a schema without it may hold more.
      const rows = await onAccounts(() => accounts.findMany({ where }))
      for (const row of rows) idsAsRead.set(String(row.userId), row.userId)
      return rows.map(toStoredAccountRow)
    },
    userExists: async (userId: UserId) =>
      (await onModel(
        () => users.findFirst({ where: { id: asRead(userId) }, select: { id: true } }),
        models.user,
        models.userOption,
      )) != null,
    async insert(row: AccountRow) {
      const data = { ...tokenData(row.tokens), ...where, userId: row.userId, type: row.type }
      // `create` returns the created record, which is what @auth/prisma-adapter's linkAccount returns.
      return (await onAccounts(() => accounts.create({ data }), Object.keys(data))) as Record<string, unknown>
    },
    async update(patch: AccountPatch, scope: AccountRowScope) {
      const owner = asRead(ownerOf(scope))
      const data = tokenData(patch.tokens)
      if (patch.userId !== undefined) data.userId = asRead(patch.userId)
      if (Object.keys(data).length === 0) return
      // Scoped to the owner: another user's row of the same key is never touched.
      await onAccounts(() => accounts.updateMany({ where: { ...where, userId: owner }, data }), Object.keys(data))
    },
  }
}

/** `findAccounts` through the account delegate (`@@id` makes keys unique: no de-duplication). @internal */
export async function prismaFindAccounts(
  client: unknown,
  models: PrismaModels,
  userId: string,
  provider: string,
): Promise<StoredAccountRow[]> {
  const accounts = delegate<AccountDelegateLike>(client, models.account, ACCOUNT_METHODS, "accountModel")
  const rows = await onModel(
    () => accounts.findMany({ where: { userId, provider } }),
    models.account,
    models.accountOption,
  )
  return rows.map(toStoredAccountRow)
}

/** The key's rows through the account delegate (the model's field names): lease mode's read after a take. @internal */
export async function prismaReadKey(
  client: unknown,
  models: PrismaModels,
  key: AccountKey,
): Promise<StoredAccountRow[]> {
  const accounts = delegate<AccountDelegateLike>(client, models.account, ACCOUNT_METHODS, "accountModel")
  const where = { provider: key.provider, providerAccountId: key.providerAccountId }
  const rows = await onModel(() => accounts.findMany({ where }), models.account, models.accountOption)
  return rows.map(toStoredAccountRow)
}

/** Keyset paging's filter: the keys after `after` in (provider, providerAccountId) order. */
const keyAfter = (after: AccountKey) => ({
  OR: [
    { provider: { gt: after.provider } },
    { provider: after.provider, providerAccountId: { gt: after.providerAccountId } },
  ],
})

/** `scanAccounts` through the account delegate: keyset paging in (provider, providerAccountId) order. @internal */
export async function prismaScanAccounts(
  client: unknown,
  models: PrismaModels,
  page: AccountScanPage,
): Promise<StoredAccountRow[]> {
  const accounts = delegate<AccountDelegateLike>(client, models.account, ACCOUNT_METHODS, "accountModel")
  const where = page.after ? keyAfter(page.after) : {}
  const rows = await onModel(
    () =>
      accounts.findMany({
        where,
        orderBy: [{ provider: "asc" }, { providerAccountId: "asc" }],
        take: checkPageLimit(page.limit),
      }),
    models.account,
    models.accountOption,
  )
  return rows.map(toStoredAccountRow)
}

/**
 * `listReauthMarks` through the account delegate: the marked rows (the mark field non-null and non-empty)
 * after `page.after` in (provider, providerAccountId) order, selecting the key, the owner and the mark only,
 * never a token field. `@@id` makes keys unique, so `take` counts keys. @internal
 */
export async function prismaListReauthMarks(
  client: unknown,
  models: PrismaModels,
  page: ReauthMarkPage,
): Promise<ReauthMark[]> {
  const accounts = delegate<AccountDelegateLike>(client, models.account, ACCOUNT_METHODS, "accountModel")
  const mark = checkMarkColumn(page.column)
  const take = checkMarkLimit(page.limit)
  const conditions: Record<string, unknown>[] = [{ [mark]: { not: null } }, { NOT: { [mark]: "" } }]
  if (page.provider !== undefined) conditions.push({ provider: page.provider })
  if (page.after) conditions.push(keyAfter(page.after))
  const rows = await onModel(
    () =>
      accounts.findMany({
        where: { AND: conditions },
        select: { userId: true, provider: true, providerAccountId: true, [mark]: true },
        orderBy: [{ provider: "asc" }, { providerAccountId: "asc" }],
        take,
      }),
    models.account,
    models.accountOption,
    [mark],
  )
  return uniqueMarks(
    rows.map((row) => ({
      userId: String(row.userId),
      provider: String(row.provider),
      providerAccountId: String(row.providerAccountId),
      reason: String(row[mark]),
    })),
  )
}
