-- The MySQL tables @auth/drizzle-adapter 1.11 defines by default (its lib/mysql.ts `defineTables`), as
-- drizzle-kit would create them: varchar(255) ids filled in by the adapter ($defaultFn), camelCase key
-- columns, snake_case token columns (varchar(255), id_token varchar(2048)), a composite primary key on
-- (provider, providerAccountId): the unique key the MySQL account lock relies on for a key with no row.
-- One deviation: session and verification-token `expires` are timestamp(3) here, where the adapter's
-- `timestamp("expires")` makes drizzle-kit create a whole-second timestamp; the bare adapter then hands
-- back a session's expiry without its milliseconds, which the kit's session check (not about tokens)
-- would report as a failure of the adapter.
CREATE TABLE `user` (
  `id` varchar(255) NOT NULL PRIMARY KEY,
  `name` varchar(255),
  `email` varchar(255) UNIQUE,
  `emailVerified` timestamp(3) NULL,
  `image` varchar(255)
);

CREATE TABLE `account` (
  `userId` varchar(255) NOT NULL,
  `type` varchar(255) NOT NULL,
  `provider` varchar(255) NOT NULL,
  `providerAccountId` varchar(255) NOT NULL,
  `refresh_token` varchar(255),
  `access_token` varchar(255),
  `expires_at` int,
  `token_type` varchar(255),
  `scope` varchar(255),
  `id_token` varchar(2048),
  `session_state` varchar(255),
  PRIMARY KEY (`provider`, `providerAccountId`),
  FOREIGN KEY (`userId`) REFERENCES `user` (`id`) ON DELETE CASCADE
);

CREATE TABLE `session` (
  `sessionToken` varchar(255) NOT NULL PRIMARY KEY,
  `userId` varchar(255) NOT NULL,
  `expires` timestamp(3) NOT NULL,
  FOREIGN KEY (`userId`) REFERENCES `user` (`id`) ON DELETE CASCADE
);

CREATE TABLE `verificationToken` (
  `identifier` varchar(255) NOT NULL,
  `token` varchar(255) NOT NULL,
  `expires` timestamp(3) NOT NULL,
  PRIMARY KEY (`identifier`, `token`)
);

CREATE TABLE `authenticator` (
  `credentialID` varchar(255) NOT NULL UNIQUE,
  `userId` varchar(255) NOT NULL,
  `providerAccountId` varchar(255) NOT NULL,
  `credentialPublicKey` varchar(255) NOT NULL,
  `counter` int NOT NULL,
  `credentialDeviceType` varchar(255) NOT NULL,
  `credentialBackedUp` boolean NOT NULL,
  `transports` varchar(255),
  PRIMARY KEY (`userId`, `credentialID`),
  FOREIGN KEY (`userId`) REFERENCES `user` (`id`) ON DELETE CASCADE
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
