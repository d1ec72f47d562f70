-- The @auth/kysely-adapter schema on MySQL/MariaDB: the tables and columns of its documented migration
-- (db/migrations/001_create_db.ts), with MySQL types.
--
-- Notes that matter to authjs-adapter-refresh:
-- * "id" columns default to UUID(): the adapter's linkAccount inserts the account without an id.
-- * UNIQUE ("provider", "providerAccountId"): on MySQL/MariaDB the account lock is a row lock on the key
--   (databases/mysql.ts), and a key with no row yet is excluded by this unique key. Without it two
--   concurrent FIRST sign-ins of one account may both insert (the bare adapter would too).
-- * "expires_at" is BIGINT: mysql2 returns it as a number.
CREATE TABLE `User` (
  `id` VARCHAR(36) NOT NULL DEFAULT (UUID()) PRIMARY KEY,
  `name` TEXT,
  `email` VARCHAR(255) NOT NULL UNIQUE,
  `emailVerified` DATETIME(3),
  `image` TEXT
);

CREATE TABLE `Account` (
  `id` VARCHAR(36) NOT NULL DEFAULT (UUID()) PRIMARY KEY,
  `userId` VARCHAR(36) NOT NULL,
  `type` VARCHAR(255) NOT NULL,
  `provider` VARCHAR(255) NOT NULL,
  `providerAccountId` VARCHAR(255) NOT NULL,
  `refresh_token` TEXT,
  `access_token` TEXT,
  `expires_at` BIGINT,
  `token_type` VARCHAR(255),
  `scope` TEXT,
  `id_token` TEXT,
  `session_state` TEXT,
  UNIQUE KEY `Account_provider_providerAccountId_key` (`provider`, `providerAccountId`),
  KEY `Account_userId_index` (`userId`),
  CONSTRAINT `Account_userId_fkey` FOREIGN KEY (`userId`) REFERENCES `User` (`id`) ON DELETE CASCADE
);

CREATE TABLE `Session` (
  `id` VARCHAR(36) NOT NULL DEFAULT (UUID()) PRIMARY KEY,
  `userId` VARCHAR(36) NOT NULL,
  `sessionToken` VARCHAR(255) NOT NULL UNIQUE,
  `expires` DATETIME(3) NOT NULL,
  KEY `Session_userId_index` (`userId`),
  CONSTRAINT `Session_userId_fkey` FOREIGN KEY (`userId`) REFERENCES `User` (`id`) ON DELETE CASCADE
);

CREATE TABLE `VerificationToken` (
  `identifier` VARCHAR(255) NOT NULL,
  `token` VARCHAR(255) NOT NULL UNIQUE,
  `expires` DATETIME(3) NOT NULL
);

-- Lease mode (authjs-adapter-refresh): one row per account key, the README's "Lease mode: the migration".
-- lease_until is UTC: only UTC_TIMESTAMP(3) writes it.
CREATE TABLE authjs_refresh_lease (
  provider            VARCHAR(255) NOT NULL,
  provider_account_id VARCHAR(255) NOT NULL,
  fence               BIGINT NOT NULL,
  holder              VARCHAR(64) NOT NULL,
  lease_until         DATETIME(3) NULL,
  PRIMARY KEY (provider, provider_account_id)
);
