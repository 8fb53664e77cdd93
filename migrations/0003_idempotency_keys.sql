CREATE TABLE `idempotency_keys` (
	`scope` text NOT NULL,
	`key` text NOT NULL,
	`body_sha256` text NOT NULL,
	`state` text NOT NULL,
	`status` integer,
	`body` blob,
	`content_type` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`scope`, `key`)
);
