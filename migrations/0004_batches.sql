CREATE TABLE `batch_events` (
	`batch_id` text NOT NULL,
	`seq` integer NOT NULL,
	`type` text NOT NULL,
	`data` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`batch_id`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `batch_items` (
	`batch_id` text NOT NULL,
	`idx` integer NOT NULL,
	`owner` text NOT NULL,
	`created_at` integer NOT NULL,
	`prompt` text NOT NULL,
	`seed` integer NOT NULL,
	`n` integer NOT NULL,
	`psi` real NOT NULL,
	`status` text NOT NULL,
	`images` text,
	`error` text,
	`lease_until` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`batch_id`, `idx`)
);
--> statement-breakpoint
CREATE INDEX `batch_items_lease` ON `batch_items` (`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `batch_items_owner` ON `batch_items` (`owner`,`status`,`lease_until`);--> statement-breakpoint
CREATE TABLE `batches` (
	`id` text PRIMARY KEY NOT NULL,
	`owner` text NOT NULL,
	`model` text NOT NULL,
	`status` text NOT NULL,
	`total` integer NOT NULL,
	`done` integer DEFAULT 0 NOT NULL,
	`failed` integer DEFAULT 0 NOT NULL,
	`cancelled` integer DEFAULT 0 NOT NULL,
	`open_items` integer NOT NULL,
	`created_at` integer NOT NULL,
	`finished_at` integer,
	`webhook_url` text,
	`webhook_events` text,
	`cancel_requested` integer DEFAULT 0 NOT NULL,
	`last_event_seq` integer DEFAULT 0 NOT NULL,
	`last_event_at` integer DEFAULT 0 NOT NULL,
	`last_event_progress` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `batches_owner` ON `batches` (`owner`,`created_at`);--> statement-breakpoint
CREATE INDEX `batches_status` ON `batches` (`status`);--> statement-breakpoint
CREATE TABLE `webhook_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`batch_id` text NOT NULL,
	`owner` text NOT NULL,
	`url` text NOT NULL,
	`body` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`status` text NOT NULL,
	`last_status` integer,
	`last_error` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webhook_deliveries_due` ON `webhook_deliveries` (`status`,`next_attempt_at`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `webhook_secret` text;