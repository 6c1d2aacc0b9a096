/** Tier move crash tests (see crash-cases.ts): killed mid-copy or while fenced, then cancelled: rolled back. */
import t from 'tap';
import { killAndCancel } from './crash-cases.js';

await killAndCancel(t, ['copy-rows', 'final']);
