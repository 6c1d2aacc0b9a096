import type { ProgressEvent } from '../progress/progress-reporter.js';

/** `advance`: the rows this event adds to the running total. */
export type TransferProgress = ProgressEvent &
  (
    | { event: 'export.started' | 'import.started'; tenant: string; tables: number; rows: number }
    | { event: 'export.rows' | 'import.rows'; table: string; rows: number; advance: number }
    | { event: 'export.table' | 'import.table'; table: string; rows: number }
  );

export class TransferStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransferStateError';
  }
}
