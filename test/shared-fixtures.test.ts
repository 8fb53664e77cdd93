/**
 * Whether ../shared is there, for the e2e project (convert, conform and trainer tests read it); the
 * unit project has packages/model/test/shared-fixtures.test.ts. Fails unless AURORA_ALLOW_NO_SHARED=1.
 */
import { sharedFixturesTest } from '../packages/model/test/support/reference.ts';

sharedFixturesTest();
