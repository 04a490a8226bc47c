// The personalized Open Graph card: a 1200x630 PNG drawn server-side (satori lays the card out as
// SVG, resvg rasterizes it) from the facts of the moment, with the fonts shipped in assets/fonts
// (DejaVu Sans; nothing is fetched at run time). Rendered cards are kept in memory, least recently
// used first out, keyed by what they draw: the same facts give the same bytes and the same ETag,
// and a card whose facts changed is a new entry. Renders of one key in flight are shared.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import satori from 'satori';

export const OG_WIDTH = 1200;
export const OG_HEIGHT = 630;
/** Bumped whenever the layout changes, so an ETag never names bytes drawn by another layout. */
const LAYOUT_VERSION = '1';
/** The width text wraps at: the card less its side padding. */
const TEXT_WIDTH = OG_WIDTH - 2 * 80;
const FONT_DIR = join(import.meta.dirname, '..', 'assets', 'fonts');

/** What a card draws: every line of it, as shown. */
export type CardFacts = { name: string; headline: string; reward: string | null; link: string };

export type OgCardRenderer = {
  /** The entity tag of the card these facts draw (quoted, strong). */
  etagOf(facts: CardFacts): string;
  /** The card's PNG: from the cache when these facts were drawn already. */
  render(facts: CardFacts): Promise<Buffer>;
  /** How many cards were drawn (not served from the cache) since the renderer was made. */
  readonly renders: number;
};

type Font = { name: string; data: Buffer; weight: 400 | 700; style: 'normal' };
let fonts: Font[] | undefined;
const loadFonts = (): Font[] =>
  (fonts ??= [
    { name: 'DejaVu Sans', data: readFileSync(join(FONT_DIR, 'DejaVuSans.ttf')), weight: 400, style: 'normal' },
    { name: 'DejaVu Sans', data: readFileSync(join(FONT_DIR, 'DejaVuSans-Bold.ttf')), weight: 700, style: 'normal' },
  ]);

type Node = { type: string; props: { style?: Record<string, unknown>; children?: (Node | string)[] | string } };
const el = (style: Record<string, unknown>, children: (Node | string)[] | string): Node => ({
  type: 'div',
  props: { style: { display: 'flex', ...style }, children },
});

function layout(facts: CardFacts): Node {
  return el(
    {
      width: '100%',
      height: '100%',
      boxSizing: 'border-box',
      flexDirection: 'column',
      justifyContent: 'space-between',
      padding: '72px 80px',
      backgroundColor: '#0f172a',
      backgroundImage: 'linear-gradient(135deg, #0f172a 0%, #1e3a8a 100%)',
      color: '#f8fafc',
      fontFamily: 'DejaVu Sans',
    },
    [
      el({ fontSize: 34, color: '#93c5fd', fontWeight: 700 }, "You're invited"),
      el({ flexDirection: 'column', width: TEXT_WIDTH }, [
        el({ fontSize: 88, fontWeight: 700, lineHeight: 1.1 }, facts.name),
        el({ fontSize: 60, fontWeight: 700, marginTop: 16, color: '#fde68a' }, facts.headline),
        ...(facts.reward
          ? [el({ fontSize: 30, marginTop: 24, color: '#e2e8f0', lineHeight: 1.3, width: TEXT_WIDTH }, facts.reward)]
          : []),
      ]),
      el({ fontSize: 30, color: '#cbd5e1', width: TEXT_WIDTH }, `Join me: ${facts.link.replace(/^https?:\/\//, '')}`),
    ],
  );
}

/** Draws one card: satori's SVG at 1200x630, rasterized at its own size. */
export async function drawCard(facts: CardFacts): Promise<Buffer> {
  const svg = await satori(layout(facts) as unknown as Parameters<typeof satori>[0], {
    width: OG_WIDTH,
    height: OG_HEIGHT,
    fonts: loadFonts(),
  });
  return Buffer.from(
    new Resvg(svg, { fitTo: { mode: 'original' }, font: { loadSystemFonts: false } }).render().asPng(),
  );
}

const keyOf = (facts: CardFacts) =>
  createHash('sha256')
    .update(JSON.stringify([LAYOUT_VERSION, facts.name, facts.headline, facts.reward, facts.link]))
    .digest('base64url')
    .slice(0, 32);

/** A renderer with an in-memory LRU of `capacity` cards (each some tens of kB). */
export function createOgCardRenderer({ capacity = 256 }: { capacity?: number } = {}): OgCardRenderer {
  const cache = new Map<string, Promise<Buffer>>();
  let renders = 0;
  return {
    etagOf: (facts) => `"og-${keyOf(facts)}"`,
    get renders() {
      return renders;
    },
    async render(facts) {
      const key = keyOf(facts);
      const hit = cache.get(key);
      if (hit) {
        // Most recently used last: a Map iterates in insertion order.
        cache.delete(key);
        cache.set(key, hit);
        return hit;
      }
      renders++;
      const drawing = drawCard(facts);
      cache.set(key, drawing);
      drawing.catch(() => cache.get(key) === drawing && cache.delete(key));
      while (cache.size > capacity) cache.delete(cache.keys().next().value!);
      return drawing;
    },
  };
}
