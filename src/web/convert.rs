//! What goes back to JavaScript: the plain objects the methods resolve to (shapes declared in
//! `src/web/npm/types.d.ts`) and the progress reports of `Recommender.load`.

use js_sys::{Array, Function};
use wasm_bindgen::JsValue;

use super::js;
use super::session::Reranked;
use super::store::Slot;
use crate::bundle::Bundle;
use crate::serve::{Catalog, EventLog, Explanation};

/// A string, or `undefined`.
fn opt_str(s: Option<&str>) -> JsValue {
    s.map(JsValue::from_str).unwrap_or(JsValue::UNDEFINED)
}

fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Array {
    let out = Array::new();
    for s in items {
        out.push(&s.into());
    }
    out
}

/// Reports `{ phase, loaded?, total? }` to the `onProgress` of `Recommender.load`.
pub fn progress(f: Option<&Function>, phase: &str, loaded: Option<f64>, total: Option<f64>) {
    let num = |x: Option<f64>| x.map(JsValue::from_f64).unwrap_or(JsValue::UNDEFINED);
    js::call_quietly(f, &js::object(&[("phase", phase.into()), ("loaded", num(loaded)), ("total", num(total))]));
}

/// `BundleInfo`: what the bundle is.
pub fn bundle_info(b: &Bundle) -> JsValue {
    let m = &b.manifest;
    let metrics = js_sys::Object::new();
    for (k, v) in &m.metrics {
        let _ = js_sys::Reflect::set(&metrics, &k.as_str().into(), &(*v).into());
    }
    js::object(&[
        ("encoder", m.encoder.kind.as_str().into()),
        ("items", (m.num_items() as f64).into()),
        ("dataset", m.data.name.as_str().into()),
        ("formatVersion", (m.format_version as f64).into()),
        ("localrecVersion", m.localrec_version.as_str().into()),
        ("created", m.created.as_str().into()),
        ("metrics", metrics.into()),
        ("itemTable", table_format(m).into()),
    ])
}

/// `BundleInfo.itemTable`: `f32`, `f16`, `int8` or `pq:M`.
fn table_format(m: &crate::bundle::Manifest) -> String {
    match &m.item_table {
        Some(spec) if spec.format == "pq" => format!("pq:{}", spec.subspaces),
        Some(spec) => spec.format.clone(),
        None if m.half_precision_items => "f16".into(),
        None => "f32".into(),
    }
}

/// `CatalogItem[]`: every item of the catalogue, in catalogue order (the bundle's, then those
/// added since).
pub fn catalog(c: &Catalog) -> Array {
    let out = Array::new();
    for i in 1..=c.len() as u32 {
        out.push(&js::object(&[
            ("item", c.id(i).into()),
            ("title", opt_str(c.title(i))),
            ("categories", strings(c.categories(i)).into()),
            ("popularity", (c.popularity(i) as f64).into()),
            ("available", c.is_available(i).into()),
            ("inModel", c.in_model(i).into()),
        ]));
    }
    out
}

/// `ItemInfo`: what a filter function is given about item `i`.
pub fn item_info(c: &Catalog, i: u32) -> JsValue {
    js::object(&[
        ("item", c.id(i).into()),
        ("title", opt_str(c.title(i))),
        ("categories", strings(c.categories(i)).into()),
    ])
}

/// `StoredEvent[]`: the history as `history()` returns it; `inCatalog` is false for an item
/// the catalogue does not have (kept, not read by the model).
pub fn history(log: &EventLog<Slot>, c: &Catalog) -> JsValue {
    let out = Array::new();
    for (slot, e) in log.iter() {
        let in_catalog = e.item.as_deref().map(|id| c.get(id).is_some());
        out.push(&js::object(&[
            ("item", opt_str(e.item.as_deref())),
            ("type", e.kind.as_str().into()),
            ("query", opt_str(e.query.as_deref())),
            ("ts", (e.ts as f64).into()),
            ("saved", slot.saved().into()),
            ("inCatalog", in_catalog.map(JsValue::from_bool).unwrap_or(JsValue::UNDEFINED)),
        ]));
    }
    out.into()
}

/// `Recommendation[]`: the ranked items (id, catalogue index if any, score), with their
/// reasons when `reasons` has them (one list per ranked item), each carrying the list's
/// `recommendationId`. `inModel` is false for an item
/// the model was not trained on (placed by its categories or the popularity prior), and
/// `available` is present (false) only for an item marked unavailable.
pub fn recommendations(
    c: &Catalog,
    ranked: &[Reranked],
    reasons: Option<&[Vec<Explanation>]>,
    recommendation_id: &str,
) -> JsValue {
    let out = Array::new();
    for (n, (id, index, score)) in ranked.iter().enumerate() {
        let i = index.unwrap_or(0);
        let cats = strings(c.categories(i));
        let reasons_js = match reasons {
            None => JsValue::UNDEFINED,
            Some(all) => {
                let list = Array::new();
                for why in all.get(n).map(Vec::as_slice).unwrap_or(&[]) {
                    list.push(&reason(c, why));
                }
                list.into()
            }
        };
        out.push(&js::object(&[
            ("item", id.as_str().into()),
            ("score", (*score as f64).into()),
            ("title", opt_str(c.title(i))),
            ("categories", if cats.length() > 0 { cats.into() } else { JsValue::UNDEFINED }),
            ("inModel", c.in_model(i).into()),
            ("available", if c.is_available(i) { JsValue::UNDEFINED } else { false.into() }),
            ("reasons", reasons_js),
            ("recommendationId", recommendation_id.into()),
        ]));
    }
    out.into()
}

/// `Reason`: one reason for a recommendation.
fn reason(c: &Catalog, why: &Explanation) -> JsValue {
    let mut fields: Vec<(&str, JsValue)> = vec![("kind", why.kind().into()), ("text", why.text(c).into())];
    if let Explanation::Similar(r) = why {
        fields.extend([
            ("item", c.id(r.item).into()),
            ("title", opt_str(c.title(r.item))),
            ("event", r.kind.as_str().into()),
            ("similarity", (r.similarity as f64).into()),
        ]);
    }
    js::object(&fields)
}
