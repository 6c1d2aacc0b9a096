/** What the console's time charts draw, kept apart from the SVG: spans, axis ticks, the top of the scale, a sentence for screen readers. */

/** The spans an operator can pick, each with a step that keeps the bars countable (and within the API's 1,500 steps). */
export const spans = {
  '1h': '1m',
  '6h': '10m',
  '24h': '30m',
  '48h': '1h',
} as const;
export type Span = keyof typeof spans;
export const isSpan = (value: string): value is Span => value in spans;

/** The usage query for a span: `span=6h&step=10m`. */
export const usageQuery = (span: Span) => `span=${span}&step=${spans[span]}`;

/** Indexes of the bars that get an axis label: about `most` of them, evenly spaced, the last always. */
export function tickIndexes(count: number, most = 6): number[] {
  if (count <= 0) return [];
  const every = Math.max(1, Math.ceil(count / most));
  const ticks = [];
  for (let i = count - 1; i >= 0; i -= every) ticks.unshift(i);
  return ticks;
}

/** The top of the scale: the peak rounded up to 1, 2 or 5 times a power of ten, so the axis reads as a round figure. */
export function scaleTop(peak: number): number {
  if (!(peak > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(peak));
  return ([1, 2, 5, 10].find((m) => m * power >= peak) ?? 10) * power;
}

/** "HH:MM" of an ISO instant, in UTC like the rest of the console; with the date when the span crosses days. */
export const timeLabel = (iso: string, withDay: boolean) => (withDay ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16));

export interface Bar {
  label: string;
  value: number;
}

/** One sentence for the chart's accessible name (60 bars read one by one would say nothing): the total and the peak. */
export function describeBars(title: string, bars: Bar[], format: (n: number) => string): string {
  const peak = bars.reduce<Bar | null>((best, b) => (b.value > (best?.value ?? 0) ? b : best), null);
  if (!peak) return `${title}: none`;
  const total = bars.reduce((sum, b) => sum + b.value, 0);
  return `${title}: ${format(total)} in all, at most ${format(peak.value)} (${peak.label})`;
}
