// Building blocks shared by the shop's views: posters, film links, rail cards, skeletons.
import { h } from '../common.js';
import { state } from './store.js';

export function poster(it, big = false) {
  const initials = it.title
    .replace(/^(The|A|An) /, '')
    .split(/\s+/)
    .slice(0, 2)
    .map((w) => w[0])
    .join('')
    .toUpperCase();
  return h('div', { class: `poster${big ? ' big' : ''}`, style: { '--h': it.hue }, 'aria-hidden': 'true' }, [
    h('span', { class: 'poster-initials' }, initials),
    h('span', { class: 'poster-genre' }, it.categories[0] ?? ''),
    it.year ? h('span', { class: 'poster-year' }, it.year) : null,
  ]);
}

export const itemHref = (id) => `#/item/${encodeURIComponent(id)}`;

/** "1996 · Drama, Thriller" */
export const cardMeta = (it) => [it.year, it.categories.slice(0, 2).join(', ')].filter(Boolean).join(' · ');

/** A card of the recommendation rail (or of the product page's "picked for you now"). */
export function railCard(r) {
  const it = state.byId.get(r.item) ?? { id: r.item, title: r.title ?? r.item, categories: r.categories ?? [], hue: 0, year: '', price: 9.99 };
  const reason = r.reasons?.[0];
  return h('li', { class: 'rail-item' }, [
    h('a', { class: 'card rail-card', href: itemHref(it.id), dataset: { item: it.id }, title: `score ${r.score.toFixed(3)}` }, [
      poster(it),
      h('span', { class: 'card-title' }, it.title),
      h('span', { class: 'card-meta' }, cardMeta(it)),
      h('span', { class: `reason reason-${reason?.kind ?? 'none'}` }, reason?.text ?? ''),
    ]),
  ]);
}

/** `n` grey placeholder cards (list items of class `cls`) while something loads. */
export function skeletons(n, cls) {
  return Array.from({ length: n }, () => h('li', { class: `${cls} skeleton`, 'aria-hidden': 'true' }, h('div', { class: 'card' }, [h('div', { class: 'poster' }), h('span', { class: 'bar' }), h('span', { class: 'bar short' })])));
}
