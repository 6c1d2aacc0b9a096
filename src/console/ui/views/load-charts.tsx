/** Requests and database time over a span, for one tenant or the whole fleet (the same series shape). */
import { BarChart, Loading, useApi } from '../components.js';
import { type Span, spans, timeLabel, usageQuery } from '../charts.js';
import { millis } from '../format.js';
import type { LoadSeries } from '../types.js';

export function SpanPicker({ span, onChange }: { span: Span; onChange: (span: Span) => void }) {
  return (
    <label class="inline">
      Span
      <select value={span} onChange={(e) => onChange((e.currentTarget as HTMLSelectElement).value as Span)}>
        {Object.keys(spans).map((s) => (
          <option key={s} value={s}>{`last ${s}`}</option>
        ))}
      </select>
    </label>
  );
}

/** `path`: /admin/usage/fleet or /admin/tenants/:id/usage. */
export function LoadCharts({ path, span, who }: { path: string; span: Span; who: string }) {
  const { data, error } = useApi<LoadSeries>(`${path}?${usageQuery(span)}`);
  if (!data) return <Loading error={error} />;
  const withDay = span === '24h' || span === '48h';
  const bars = (value: (p: LoadSeries['points'][number]) => number) => data.points.map((p) => ({ label: timeLabel(p.start, withDay), value: value(p) }));
  const step = spans[span];
  return (
    <div class="charts">
      <BarChart title={`Requests ${who} per ${step} (UTC)`} bars={bars((p) => p.requests)} empty="No requests in this span." />
      <BarChart title={`Database time ${who} per ${step} (UTC)`} bars={bars((p) => p.dbTimeMs)} format={millis} empty="No database time in this span." />
    </div>
  );
}
