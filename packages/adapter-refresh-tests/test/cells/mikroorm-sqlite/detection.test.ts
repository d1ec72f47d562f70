/**
 * How withTokenSync recognises MikroORM (a MikroORM instance or its EntityManager), on a SQLite file: no other
 * client's detector matches it, it matches no other client, and an ORM without the adapter's entities is refused
 * with a typed error that says what to pass.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals"
import { defaultEntities } from "@auth/mikro-orm-adapter"
import { MikroORM } from "@mikro-orm/core"
import { InvalidOptionsError } from "authjs-adapter-refresh"
import {
  isDrizzleDatabase,
  isKysely,
  isMikroOrm,
  isMikroOrmEntityManager,
  isPgPool,
  isPrismaClient,
  resolveAccountStore,
} from "authjs-adapter-refresh/internal"
import { mikroOrmAccountStore } from "authjs-adapter-refresh/stores/mikroorm"
import { testSqliteFile, type TestSqliteFile } from "../../../src/harness/sqlite.js"
import { mikroOrmConfig } from "../../../src/fixtures/mikroorm.js"

describe("MikroORM detection", () => {
  let file: TestSqliteFile
  let orm: MikroORM
  beforeAll(async () => {
    file = await testSqliteFile("mikroorm_detection")
    orm = await MikroORM.init(await mikroOrmConfig("sqlite", file.url))
  })
  afterAll(async () => {
    await orm?.close(true)
    await file?.drop()
  })

  test("a MikroORM instance and its EntityManager are recognised as such, and as nothing else", () => {
    expect(isMikroOrm(orm)).toBe(true)
    expect(isMikroOrmEntityManager(orm.em)).toBe(true)
    expect(isMikroOrm(orm.em)).toBe(false)
    for (const value of [orm, orm.em]) {
      expect([isPrismaClient(value), isKysely(value), isDrizzleDatabase(value), isPgPool(value)]).toEqual([
        false,
        false,
        false,
        false,
      ])
    }
    for (const other of [null, undefined, {}, { em: {} }]) {
      expect(isMikroOrm(other)).toBe(false)
      expect(isMikroOrmEntityManager(other)).toBe(false)
    }
  })

  test("withTokenSync's detection builds the MikroORM store from either", () => {
    expect(resolveAccountStore(orm).name).toBe("mikro-orm")
    expect(resolveAccountStore(orm.em.fork()).name).toBe("mikro-orm")
  })

  test("an entity the ORM lacks is refused at construction, with what to pass", async () => {
    expect(() => mikroOrmAccountStore(orm, { entities: { Account: "AuthAccount" } })).toThrow(InvalidOptionsError)
    expect(() => mikroOrmAccountStore(orm, { entities: { Account: "AuthAccount" } })).toThrow(
      /no entity "AuthAccount".*MikroOrmAdapter/,
    )
    const bare = await MikroORM.init(await mikroOrmConfig("sqlite", file.url, [defaultEntities.VerificationToken]))
    try {
      expect(() => resolveAccountStore(bare)).toThrow(/no entity "Account"/)
    } finally {
      await bare.close(true)
    }
  })
})
