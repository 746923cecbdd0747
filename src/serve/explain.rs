//! Why an item was recommended: the history items whose embeddings are closest to it
//! ([`explain`]), and what the shopper reads ([`Explanation`]: "Because you viewed …", or the
//! popular and recent fallbacks).

use super::Catalog;
use crate::events::EventKind;

/// Most reasons given for one recommendation by [`explain`].
pub const MAX_REASONS: usize = 2;

/// Why an item was recommended: a history item whose embedding is close to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Reason {
    /// The history item's index.
    pub item: u32,
    /// What the shopper last did with it.
    pub kind: EventKind,
    /// Cosine similarity of the two item embeddings, in `(0, 1]`.
    pub similarity: f32,
}

/// Up to [`MAX_REASONS`] reasons for each recommended item: the history items with the
/// highest cosine similarity between their embedding and the recommended item's (positive
/// similarities only, most similar first, ties to the more recent item).
///
/// - `rec_rows`: the recommended items' embeddings, row-major `[recs, d]`;
/// - `hist`: distinct history items, oldest first, each with the kind of its last event;
/// - `hist_rows`: their embeddings, row-major `[hist.len(), d]`.
pub fn explain(rec_rows: &[f32], hist: &[(u32, EventKind)], hist_rows: &[f32], d: usize) -> Vec<Vec<Reason>> {
    if d == 0 {
        return Vec::new();
    }
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let hist_norms: Vec<f32> = hist_rows.chunks_exact(d).map(norm).collect();
    rec_rows
        .chunks_exact(d)
        .map(|r| {
            let rn = norm(r);
            let mut sims: Vec<(usize, f32)> = hist_rows
                .chunks_exact(d)
                .zip(&hist_norms)
                .enumerate()
                .map(|(h, (v, &hn))| {
                    let dot: f32 = r.iter().zip(v).map(|(a, b)| a * b).sum();
                    (h, if rn > 0.0 && hn > 0.0 { dot / (rn * hn) } else { 0.0 })
                })
                .filter(|(_, s)| *s > 0.0)
                .collect();
            sims.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
            sims.iter()
                .take(MAX_REASONS)
                .filter_map(|&(h, similarity)| {
                    let (item, kind) = *hist.get(h)?;
                    Some(Reason { item, kind, similarity: similarity.min(1.0) })
                })
                .collect()
        })
        .collect()
}

/// One reason as the shopper reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum Explanation {
    /// The item is close to an item of the history.
    Similar(Reason),
    /// A cold start (no history yet): the item is popular with other shoppers.
    Popular,
    /// No history item is close to it: it comes from the history as a whole.
    Recent,
}

impl Explanation {
    /// What kind of reason: `similar`, `popular` or `recent`.
    pub fn kind(&self) -> &'static str {
        match self {
            Explanation::Similar(_) => "similar",
            Explanation::Popular => "popular",
            Explanation::Recent => "recent",
        }
    }

    /// The sentence for the shopper, e.g. `Because you viewed “Green tea”` (an item without a
    /// title is named by its id).
    pub fn text(&self, catalog: &Catalog) -> String {
        match self {
            Explanation::Similar(why) => {
                let name = catalog.title(why.item).unwrap_or(catalog.id(why.item));
                format!("Because you {} “{name}”", verb(why.kind))
            }
            Explanation::Popular => "Popular with other shoppers".into(),
            Explanation::Recent => "Based on your recent activity".into(),
        }
    }
}

/// The explanations of one recommended item, given its `similar` reasons (from [`explain`]):
/// [`Explanation::Popular`] when the shopper has no history, [`Explanation::Recent`] when no
/// history item is similar, then one [`Explanation::Similar`] for each reason.
pub fn explanations(has_history: bool, similar: &[Reason]) -> Vec<Explanation> {
    let mut out = Vec::with_capacity(similar.len().max(1));
    if !has_history {
        out.push(Explanation::Popular);
    } else if similar.is_empty() {
        out.push(Explanation::Recent);
    }
    out.extend(similar.iter().cloned().map(Explanation::Similar));
    out
}

/// What the shopper did, as a reason says it.
fn verb(kind: EventKind) -> &'static str {
    match kind {
        EventKind::View => "viewed",
        EventKind::Cart => "added to your cart",
        EventKind::Purchase => "bought",
        _ => "interacted with",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explanations_pick_the_most_similar_history_items() {
        let hist = [(1, EventKind::View), (2, EventKind::Cart), (3, EventKind::View)];
        let hist_rows = [1.0, 0.0, 0.0, 1.0, -1.0, 0.0];
        let rec_rows = [2.0, 1.0, -1.0, -0.1, 0.0, 0.0];
        let e = explain(&rec_rows, &hist, &hist_rows, 2);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].iter().map(|r| r.item).collect::<Vec<_>>(), [1, 2]);
        assert!((e[0][0].similarity - 2.0 / 5f32.sqrt()).abs() < 1e-6);
        assert_eq!(e[1].iter().map(|r| r.item).collect::<Vec<_>>(), [3], "only positive similarities");
        assert!(e[2].is_empty(), "a zero vector is similar to nothing");
    }

    fn catalog() -> Catalog {
        Catalog::from_manifest(&super::super::tests::bundle().manifest).unwrap()
    }

    #[test]
    fn a_cold_start_is_explained_by_popularity() {
        let c = catalog();
        let e = explanations(false, &[]);
        assert_eq!(e, [Explanation::Popular]);
        assert_eq!((e[0].kind(), e[0].text(&c).as_str()), ("popular", "Popular with other shoppers"));
    }

    #[test]
    fn without_a_similar_item_the_history_as_a_whole_is_the_reason() {
        let c = catalog();
        let e = explanations(true, &[]);
        assert_eq!(e, [Explanation::Recent]);
        assert_eq!((e[0].kind(), e[0].text(&c).as_str()), ("recent", "Based on your recent activity"));
    }

    #[test]
    fn similar_items_are_named_by_title_or_id_with_what_the_shopper_did() {
        let c = catalog();
        let (a, b) = (c.index("a").unwrap(), c.index("b").unwrap());
        let why = |item, kind| Reason { item, kind, similarity: 0.5 };
        let e = explanations(true, &[why(a, EventKind::View), why(b, EventKind::Cart)]);
        assert_eq!(e.len(), 2, "no fallback next to similar items");
        assert_eq!(e[0], Explanation::Similar(why(a, EventKind::View)));
        assert_eq!(e[0].kind(), "similar");
        assert_eq!(e[0].text(&c), "Because you viewed “Item A”", "the title when there is one");
        assert_eq!(e[1].text(&c), "Because you added to your cart “b”", "else the id");
        let text = |kind| Explanation::Similar(why(b, kind)).text(&c);
        assert_eq!(text(EventKind::Purchase), "Because you bought “b”");
        assert_eq!(text(EventKind::Search), "Because you interacted with “b”");
    }
}
