import t from 'tap';
import { startTestPlatform } from '../helper.js';
import { soak } from './soak-scenario.js';

// One or two connections per pool: every connection serves many tenants in turn.
const platform = await startTestPlatform(t, { STRATA_POOL_MAX: '2', STRATA_DEDICATED_POOL_MAX: '1' });

await soak(t, platform, { requests: 400, concurrency: 60 });
