// require() of every entry point, through the "default" export condition (Node 20.19+ / 22.12+ load ES
// modules synchronously; an older Node throws ERR_REQUIRE_ESM, and import() is the way there).
const assert = require("node:assert/strict")

assert.equal(typeof require("authjs-adapter-refresh").withTokenSync, "function")
assert.equal(typeof require("authjs-adapter-refresh/stores/pg").pgAccountStore, "function")
assert.equal(typeof require("authjs-adapter-refresh/stores/kysely").kyselyAccountStore, "function")
assert.equal(typeof require("authjs-adapter-refresh/stores/prisma").prismaAccountStore, "function")
assert.equal(typeof require("authjs-adapter-refresh/stores/redis").redisAccountStore, "function")
assert.equal(typeof require("authjs-adapter-refresh/stores/sequelize").sequelizeAccountStore, "function")
assert.equal(typeof require("authjs-adapter-refresh/stores/dynamodb").dynamoDbAccountStore, "function")
assert.equal(typeof require("authjs-adapter-refresh-tests").runConformanceSuite, "function")
assert.equal(typeof require("authjs-adapter-refresh-tests/postgres").startPostgres, "function")
console.log(`require(): every entry point of both packages loads on Node ${process.version}`)
