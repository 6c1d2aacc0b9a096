/** Tier move crash tests (see crash-cases.ts): killed as prepare, capture or copy start, or in the middle of the copy. */
import t from 'tap';
import { killAndResume } from './crash-cases.js';

await killAndResume(t, ['prepare', 'capture', 'copy', 'copy-rows']);
