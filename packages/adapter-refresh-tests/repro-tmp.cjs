const { Sequelize } = require("sequelize")
const Database = require("better-sqlite3")
const { execFileSync } = require("child_process")
const fs = require("fs")
const path = "/tmp/repro-seq.sqlite"; for (const s of ["", "-wal", "-shm"]) fs.rmSync(path + s, { force: true })
const mode = process.argv[2]
const all = (c, t, v = []) => new Promise((res, rej) => c.all(t, v, (e, r) => (e ? rej(e) : res(r))))
const ext = (sql) => {
  if (mode === "child") return execFileSync(process.execPath, ["-e", `const D=require("better-sqlite3");const d=new D(${JSON.stringify(path)});console.log(d.prepare(${JSON.stringify(sql)}).run().changes);d.close()`]).toString().trim()
  const d = new Database(path); const n = sql.startsWith("SELECT") ? JSON.stringify(d.prepare(sql).all()) : d.prepare(sql).run().changes; d.close(); return n
}
;(async () => {
  const s = new Sequelize({ dialect: "sqlite", storage: path, logging: false })
  await s.query("PRAGMA journal_mode = WAL")
  await s.query("CREATE TABLE a (k TEXT PRIMARY KEY, e INTEGER)")
  await s.query("INSERT INTO a VALUES ('x', 1)")
  const m = s.connectionManager
  const shared = await m.getConnection({})
  const own = await m.getConnection({ uuid: "own" })
  console.log("ext write e=3:", ext("UPDATE a SET e = 3"), "shared sees", await all(shared, "SELECT e FROM a"))
  await all(own, "BEGIN IMMEDIATE"); await all(own, "UPDATE a SET e = 4"); await all(own, "COMMIT")
  console.log("own wrote e=4; shared sees", await all(shared, "SELECT e FROM a"))
  if (mode !== "child") console.log("fresh better-sqlite3 sees", ext("SELECT e FROM a"))
  console.log("ext write e=5:", ext("UPDATE a SET e = 5"), "shared sees", await all(shared, "SELECT e FROM a"), "own sees", await all(own, "SELECT e FROM a"))
  await s.close()
})()
