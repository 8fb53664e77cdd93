CREATE INDEX `images_lru` ON `images` (coalesce("last_hit_at", "created_at"));
--> statement-breakpoint
-- Hand-written from here on (drizzle-kit cannot express triggers, and generated the index above
-- with a broken column list): the cache's running size, kept exact by triggers so that every
-- gateway process and Worker isolate reads the same total with one primary-key lookup instead of
-- summing the table (apps/edge/src/cache/eviction.ts). One row, id 1.
CREATE TABLE `cache_stats` (
	`id` integer PRIMARY KEY NOT NULL CHECK (`id` = 1),
	`bytes` integer NOT NULL,
	`entries` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO `cache_stats` (`id`, `bytes`, `entries`) SELECT 1, coalesce(sum(`bytes`), 0), count(*) FROM `images`;
--> statement-breakpoint
CREATE TRIGGER `images_stats_insert` AFTER INSERT ON `images` BEGIN
	UPDATE `cache_stats` SET `bytes` = `bytes` + NEW.`bytes`, `entries` = `entries` + 1 WHERE `id` = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `images_stats_update` AFTER UPDATE OF `bytes` ON `images` BEGIN
	UPDATE `cache_stats` SET `bytes` = `bytes` - OLD.`bytes` + NEW.`bytes` WHERE `id` = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `images_stats_delete` AFTER DELETE ON `images` BEGIN
	UPDATE `cache_stats` SET `bytes` = `bytes` - OLD.`bytes`, `entries` = `entries` - 1 WHERE `id` = 1;
END;
