CREATE TABLE `images` (
	`key` text PRIMARY KEY NOT NULL,
	`model` text NOT NULL,
	`content_hash` text NOT NULL,
	`prompt` text NOT NULL,
	`seed` integer NOT NULL,
	`psi` real NOT NULL,
	`size` text NOT NULL,
	`png` blob,
	`blob_key` text,
	`bytes` integer NOT NULL,
	`etag` text NOT NULL,
	`route` text NOT NULL,
	`generate_ms` real NOT NULL,
	`run_ms` real,
	`created_at` integer NOT NULL,
	`hit_count` integer DEFAULT 0 NOT NULL,
	`last_hit_at` integer
);
--> statement-breakpoint
CREATE INDEX `images_created_at` ON `images` (`created_at`);