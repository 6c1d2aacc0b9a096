/** Export and import progress events, and their shared state error. */
import type { ProgressEvent } from '../progress/progress-reporter.js';

/** `advance`: the rows this event adds to the running total. */
export type TransferProgress = ProgressEvent &
  (
    | { event: 'export.started' | 'import.started'; tenant: string; tables: number; rows: number }
    | { event: 'export.rows' | 'import.rows'; table: string; rows: number; advance: number }
    | { event: 'export.table' | 'import.table'; table: string; rows: number }
  );

/** The tenant is in no state to export or import (e.g. still provisioning). */
export class TransferStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransferStateError';
  }
}
