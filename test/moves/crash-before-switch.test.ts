/** Tier move crash tests (see crash-cases.ts): killed as catch-up, verify, fence or the final pass start. */
import t from 'tap';
import { killAndResume } from './crash-cases.js';

await killAndResume(t, ['catchup', 'verify', 'fence', 'final']);
