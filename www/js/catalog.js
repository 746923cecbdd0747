// The shop's view of a bundle's catalogue: `rec.catalog()` plus what a shop page needs on top
// (display titles, years, made-up prices, a poster colour) and the plain text search.
import { hashString } from './common.js';

/**
 * The catalogue of a loaded recommender, as shop items, in catalogue order.
 * `rec.catalog()` gives `{ item, title?, categories, popularity }`.
 */
export async function loadCatalog(rec) {
  if (typeof rec.catalog !== 'function') {
    throw new Error('this build of the localrec package has no rec.catalog(): rebuild pkg/ (src/web/npm/build.sh) and run npm install in www/');
  }
  return (await rec.catalog()).map(toShopItem);
}

const ARTICLE = /^(.*), (The|A|An|Les|La|Le|L'|Il|Das|Der|Die|El)$/;

/** "Ghost and the Darkness, The (1996)" → { title: "The Ghost and the Darkness", year: "1996" }. */
export function displayTitle(raw, id) {
  let t = (raw ?? '').trim();
  if (!t) return { title: `Item ${id}`, year: '' };
  let year = '';
  const y = t.match(/\s*\((\d{4})\)\s*$/);
  if (y) {
    year = y[1];
    t = t.slice(0, y.index);
  }
  const a = t.match(ARTICLE);
  if (a) t = `${a[2]}${a[2].endsWith("'") ? '' : ' '}${a[1]}`;
  return { title: t, year };
}

function toShopItem(c) {
  const { title, year } = displayTitle(c.title, c.item);
  const h = hashString(c.item);
  return {
    id: c.item,
    rawTitle: c.title,
    title,
    year,
    categories: c.categories ?? [],
    popularity: c.popularity ?? 0,
    // Made-up but stable prices: 4.99 to 19.99.
    price: 4.99 + (h % 16),
    hue: h % 360,
    search: `${title} ${c.title ?? ''} ${year}`.toLowerCase(),
  };
}

/** Categories by how many items have them, most first. */
export function categoryCounts(items) {
  const n = new Map();
  for (const it of items) for (const c of it.categories) n.set(c, (n.get(c) ?? 0) + 1);
  return [...n.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/**
 * The plain (not personalised) order: items matching every word of the query (and in the
 * category, if one is chosen), best text match first (title starts with the query, then
 * contains it, then has all its words), ties by popularity.
 */
export function plainSearch(items, query, category) {
  const q = query.trim().toLowerCase();
  const words = q.split(/\s+/).filter(Boolean);
  const out = [];
  for (const it of items) {
    if (category && !it.categories.includes(category)) continue;
    if (words.length && !words.every((w) => it.search.includes(w))) continue;
    const t = it.title.toLowerCase();
    const score = !q ? 0 : t.startsWith(q) ? 3 : t.includes(q) ? 2 : 1;
    out.push({ it, score });
  }
  out.sort((a, b) => b.score - a.score || b.it.popularity - a.it.popularity);
  return out.map((x) => x.it);
}

export const fmtPrice = (p) => `$${p.toFixed(2)}`;
