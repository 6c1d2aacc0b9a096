/** Small shared pieces: loading of API data, status badges, a bar chart, an alert. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, get } from './api.js';
import { type Bar, describeBars, scaleTop, tickIndexes } from './charts.js';
import { count } from './format.js';

/**
 * GETs `path` (again whenever it changes or `reload` is called); null while loading. Data of an
 * earlier path is never returned, so a view never shows one tenant's figures under another's name.
 */
export function useApi<T>(path: string | null) {
  const [loaded, setLoaded] = useState<{ path: string; data: T } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    setError(null);
    get<T>(path).then(
      (data) => live && setLoaded({ path, data }),
      (e: unknown) => live && setError(e instanceof ApiError ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  return { data: loaded && loaded.path === path ? loaded.data : null, error, reload: useCallback(() => setTick((n) => n + 1), []) };
}

export const Badge = ({ value }: { value: string }) => <span class={`badge badge-${value}`}>{value}</span>;

export function Alert({ children, kind = 'error' }: { children: ComponentChildren; kind?: 'error' | 'info' }) {
  return (
    <p class={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </p>
  );
}

export function Loading({ error }: { error: string | null }) {
  return error ? <Alert>{error}</Alert> : <p aria-busy="true">Loading…</p>;
}

/**
 * Vertical bars in inline SVG (no chart library; attributes, never style, so the CSP holds): a
 * round top of scale, a few time labels, each bar's figure in its tooltip and the whole in one
 * accessible sentence.
 */
export function BarChart({
  bars,
  title,
  format = count,
  empty = 'Nothing recorded yet.',
}: {
  bars: Bar[];
  title: string;
  format?: (n: number) => string;
  empty?: string;
}) {
  if (!bars.some((b) => b.value > 0)) return <p>{empty}</p>;
  const top = scaleTop(Math.max(...bars.map((b) => b.value)));
  const width = 560;
  const height = 140;
  const left = 44;
  const bar = (width - left) / bars.length;
  const ticks = new Set(tickIndexes(bars.length));
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height + 18}`} role="img" aria-label={describeBars(title, bars, format)}>
        <line x1={left} x2={width} y1={0.5} y2={0.5} class="grid" />
        <line x1={left} x2={width} y1={height + 0.5} y2={height + 0.5} class="grid" />
        <text x={left - 6} y={10} text-anchor="end" class="axis">
          {format(top)}
        </text>
        <text x={left - 6} y={height} text-anchor="end" class="axis">
          0
        </text>
        {bars.map((b, i) => {
          const h = b.value > 0 ? Math.max(1, (b.value / top) * height) : 0;
          return (
            <g key={b.label}>
              <rect x={left + i * bar + Math.min(2, bar * 0.15)} y={height - h} width={Math.max(1, bar - Math.min(4, bar * 0.3))} height={h} class="bar">
                <title>{`${b.label}: ${format(b.value)}`}</title>
              </rect>
              {ticks.has(i) && (
                // The last label ends at the right edge rather than running past it.
                <text
                  x={i === bars.length - 1 ? width : left + i * bar + bar / 2}
                  y={height + 14}
                  text-anchor={i === bars.length - 1 ? 'end' : 'middle'}
                  class="axis"
                >
                  {b.label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  );
}
