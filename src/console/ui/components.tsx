/** Small shared pieces: loading of API data, status badges, a bar chart, an alert. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, get } from './api.js';

/** GETs `path` (again whenever it changes or `reload` is called); null while loading. */
export function useApi<T>(path: string | null) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    setError(null);
    get<T>(path).then(
      (d) => live && setData(d),
      (e: unknown) => live && setError(e instanceof ApiError ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  return { data, error, reload: useCallback(() => setTick((n) => n + 1), []) };
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

/** Vertical bars in SVG (no chart library): values labelled for screen readers in a table caption. */
export function BarChart({ points, label }: { points: { label: string; value: number }[]; label: string }) {
  if (!points.length) return <p>No requests recorded yet.</p>;
  const max = Math.max(1, ...points.map((p) => p.value));
  const width = 560;
  const height = 140;
  const bar = width / Math.max(points.length, 1);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height + 18}`} role="img" aria-label={`${label}: ${points.map((p) => `${p.label} ${p.value}`).join(', ') || 'no data'}`}>
        {points.map((p, i) => {
          const h = Math.max(1, (p.value / max) * height);
          return (
            <g key={p.label}>
              <rect x={i * bar + 2} y={height - h} width={bar - 4} height={h} class="bar">
                <title>{`${p.label}: ${p.value}`}</title>
              </rect>
              <text x={i * bar + bar / 2} y={height + 14} text-anchor="middle" class="axis">
                {p.label.slice(5)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>{label}</figcaption>
    </figure>
  );
}
