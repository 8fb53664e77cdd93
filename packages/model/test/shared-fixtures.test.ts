/**
 * Whether ../shared (the PyTorch reference fixtures and the CLIP vocabulary beside the repository)
 * is there: the tests that read it skip without it, so this one fails loudly, naming what is
 * missing, unless AURORA_ALLOW_NO_SHARED=1. test/shared-fixtures.test.ts does the same for e2e.
 */
import { sharedFixturesTest } from './support/reference.ts';

sharedFixturesTest();
