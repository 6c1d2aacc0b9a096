/** Recommendations (GET /admin/recommendations) in words: where a tenant would go and why. */
import { bytes, count } from './format.js';
import type { Evidence, Recommendation } from './types.js';

const signalNames: Record<Evidence['signal'], string> = {
  dbTimeShare: 'Database time',
  dbTimePerMinute: 'Database time',
  requestRate: 'Request rate',
  p99: 'p99 latency',
  guardRejections: 'Guard rejections',
  rows: 'Rows',
  storage: 'Storage',
};

/** A figure with its unit; the threshold is written without it ("… at or above 30"), except where the unit is the number's own (%, bytes). */
function figure(e: Evidence, n: number, withUnit: boolean): string {
  if (e.signal === 'dbTimeShare') return `${Math.round(n * 1000) / 10}%${withUnit ? ' of its server’s database time' : ''}`;
  if (e.signal === 'storage') return bytes(n);
  return withUnit ? `${count(n)} ${e.unit}` : count(n);
}

/** "Request rate 40 requests per minute, at or above 30". */
export function describeEvidence(e: Evidence): string {
  return `${signalNames[e.signal]} ${figure(e, e.value, true)}, at or ${e.crossed} ${figure(e, e.threshold, false)}`;
}

/** "pooled on default → schema on default"; a blocked one has no server to go to. */
export function describeMove(r: Recommendation): string {
  return `${r.current.tier} on ${r.current.server} → ${r.suggested.tier}${r.suggested.server ? ` on ${r.suggested.server}` : ''}`;
}

export const describeDirection = (r: Recommendation) => (r.direction === 'up' ? 'Up' : 'Down');
