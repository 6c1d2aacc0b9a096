/** Tier move crash tests (see crash-cases.ts): killed as the flip, the invalidation, the cleanup or the end start. */
import t from 'tap';
import { killAndResume } from './crash-cases.js';

await killAndResume(t, ['flip', 'invalidate', 'cleanup', 'done']);
