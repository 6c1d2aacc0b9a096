/**
 * Accessibility checks of a page in a real Chromium, from what the browser computed: the
 * accessible name of every form control (Chromium's own accessibility tree, over CDP) and the
 * WCAG 2.x contrast of every visible run of text against the backgrounds painted under it.
 */
import type { Locator, Page } from 'playwright-core';

const controlRoles = new Set([
  'textbox',
  'searchbox',
  'combobox',
  'listbox',
  'spinbutton',
  'checkbox',
  'radio',
  'switch',
  'slider',
  'button',
  'link',
  'menuitem',
  'tab',
]);

/** Controls the browser exposes without a name (role and a hint of where), none when all are named. */
export async function unnamedControls(page: Page): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
      nodes: { ignored: boolean; role?: { value: string }; name?: { value: string }; backendDOMNodeId?: number }[];
    };
    const unnamed = nodes.filter((n) => !n.ignored && controlRoles.has(String(n.role?.value)) && !String(n.name?.value ?? '').trim());
    return unnamed.map((n) => `${n.role?.value} (DOM node ${n.backendDOMNodeId})`);
  } finally {
    await cdp.detach();
  }
}

type Rgba = [number, number, number, number];

export function parseColor(css: string): Rgba {
  const m = /rgba?\(([^)]+)\)/.exec(css);
  if (!m) throw new Error(`not a computed colour: ${css}`);
  const [r, g, b, a = '1'] = m[1]!.split(/[\s,/]+/).filter(Boolean);
  return [Number(r), Number(g), Number(b), Number(a)];
}

/** `top` painted over the opaque `bottom`. */
export function over(top: Rgba, bottom: Rgba): Rgba {
  const a = top[3];
  return [top[0] * a + bottom[0] * (1 - a), top[1] * a + bottom[1] * (1 - a), top[2] * a + bottom[2] * (1 - a), 1];
}

const luminance = ([r, g, b]: Rgba) => {
  const lin = (c: number) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
};

/** WCAG 2.x contrast ratio of two opaque colours, 1 to 21. */
export function contrastRatio(a: Rgba, b: Rgba): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** AA: 4.5:1 for body text, 3:1 for large text (24 px, or 18.66 px bold). */
export const aaMinimum = (px: number, weight: number) => (px >= 24 || (px >= 18.66 && weight >= 700) ? 3 : 4.5);

interface TextSample {
  text: string;
  color: string;
  /** Background colours from the text's element up to the root. */
  backgrounds: string[];
  px: number;
  weight: number;
}

// A string, not a function: the test runner's transform may add helpers a serialized function would miss in the page.
const sampleText = `(() => {
  const samples = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || seen.has(el)) continue;
    seen.add(el);
    // Disabled controls are exempt in WCAG; an SVG <title> is a tooltip; <option>s are drawn by the platform's popup.
    if (el.closest('[disabled], [aria-hidden="true"], title, option')) continue;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility !== 'visible') continue;
    const backgrounds = [];
    for (let e = el; e; e = e.parentElement) backgrounds.push(getComputedStyle(e).backgroundColor);
    samples.push({
      text: node.textContent.trim().slice(0, 40),
      color: el instanceof SVGElement ? style.fill : style.color,
      backgrounds,
      px: parseFloat(style.fontSize),
      weight: Number(style.fontWeight),
    });
  }
  return samples;
})()`;

/** Every visible text in the page below AA contrast, as "text: ratio < minimum"; empty when all pass. */
export async function lowContrastText(page: Page): Promise<{ failures: string[]; checked: number }> {
  const samples = (await page.evaluate(sampleText)) as TextSample[];
  const failures = [];
  for (const s of samples) {
    // The canvas is white; each background is painted over the ones beneath it.
    const background = s.backgrounds.reduceRight<Rgba>((under, bg) => over(parseColor(bg), under), [255, 255, 255, 1]);
    const ratio = contrastRatio(over(parseColor(s.color), background), background);
    const minimum = aaMinimum(s.px, s.weight);
    if (ratio < minimum)
      failures.push(`"${s.text}": ${ratio.toFixed(2)} < ${minimum} (${s.color} on ${s.backgrounds.find((b) => parseColor(b)[3] > 0) ?? 'white'})`);
  }
  return { failures, checked: samples.length };
}

/** Whether the page scrolls sideways (it must not, down to a small laptop's width). */
export const overflowsSideways = (page: Page) =>
  page.evaluate('document.documentElement.scrollWidth > document.documentElement.clientWidth') as Promise<boolean>;

/** Whether `target` has the keyboard focus (typed loosely: the tests' TypeScript has no DOM library). */
export const hasFocus = (target: Locator) =>
  target.evaluate((el: unknown) => el === (el as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement);
