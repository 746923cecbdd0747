//! The e-commerce events analytics tools already send, read as localrec events, so that a shop
//! that tags its pages for Google Analytics 4 (gtag.js, the Google Tag Manager `dataLayer`) or
//! Segment needs no new tagging.
//!
//! One analytics event names zero or more products; [`raw_events`] turns it into one
//! [`RawEvent`] per product (or one search), which are then checked against the catalogue like
//! any other event ([`super::TrackedEvent::from_raw`]). The shapes read:
//!
//! - GA4, as pushed to the `dataLayer`: `{ event: 'add_to_cart', ecommerce: { items: [{ item_id,
//!   ... }] } }`, or `{ event: 'search', search_term }`;
//! - gtag.js: `['event', 'add_to_cart', { items: [...] }]` (what `gtag('event', ...)` pushes), or
//!   the same flattened, `{ event: 'add_to_cart', items: [...] }`;
//! - Segment's e-commerce spec: `{ event: 'Product Added', properties: { product_id } }`, or
//!   `properties.products: [{ product_id }]` (`Order Completed`), or `properties.query`
//!   (`Products Searched`).
//!
//! Only the fields above are read (item names, prices, quantities and the rest are ignored; a
//! quantity of 3 is one event). The mapping ([`ANALYTICS_EVENTS`]):
//!
//! | GA4 | Segment | localrec |
//! |---|---|---|
//! | `view_item`, `select_item` | `Product Viewed`, `Product Clicked` | `view` of each item |
//! | `add_to_cart` | `Product Added` | `cart` of each item |
//! | `remove_from_cart` | `Product Removed` | `view` of each item (see below) |
//! | `purchase` | `Order Completed` | `purchase` of each item |
//! | `search` | `Products Searched` | `search` (the query, no item) |
//! | `view_item_list` | `Product List Viewed` | nothing |
//!
//! - A list shown (`view_item_list`) is accepted and stores nothing: a shopper shown twenty
//!   products has shown no interest in any one of them, and twenty "views" would drown the
//!   events that do say something.
//! - `remove_from_cart` is stored as a `view`: taking an item out of the cart still says the
//!   shopper looked at it closely, but no longer that they mean to buy it (the earlier `cart`
//!   event stays in the history). localrec has no negative kind: the encoders' kind embedding
//!   tables have one row per [`EventKind`] (`EventKind::ALL`, six), so a new kind would change
//!   their shape and bundles trained before could no longer be loaded.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::events::{EventKind, RawEvent};

/// Which vocabulary an analytics event name belongs to: where its products are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vocabulary {
    /// Google Analytics 4: `ecommerce.items[].item_id` (or `items[]`), `search_term`.
    Ga4,
    /// Segment's e-commerce spec: `properties.product_id` or `properties.products[].product_id`,
    /// `properties.query`.
    Segment,
}

/// What an analytics event becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    /// One event of this kind per product named.
    Items(EventKind),
    /// One search event with the query.
    Search,
    /// Accepted, stored as nothing.
    Nothing,
}

/// Every analytics event name localrec reads, its vocabulary and what it becomes.
pub const ANALYTICS_EVENTS: [(&str, Vocabulary, Meaning); 14] = [
    ("view_item", Vocabulary::Ga4, Meaning::Items(EventKind::View)),
    ("select_item", Vocabulary::Ga4, Meaning::Items(EventKind::View)),
    ("add_to_cart", Vocabulary::Ga4, Meaning::Items(EventKind::Cart)),
    ("remove_from_cart", Vocabulary::Ga4, Meaning::Items(EventKind::View)),
    ("purchase", Vocabulary::Ga4, Meaning::Items(EventKind::Purchase)),
    ("search", Vocabulary::Ga4, Meaning::Search),
    ("view_item_list", Vocabulary::Ga4, Meaning::Nothing),
    ("Product Viewed", Vocabulary::Segment, Meaning::Items(EventKind::View)),
    ("Product Clicked", Vocabulary::Segment, Meaning::Items(EventKind::View)),
    ("Product Added", Vocabulary::Segment, Meaning::Items(EventKind::Cart)),
    ("Product Removed", Vocabulary::Segment, Meaning::Items(EventKind::View)),
    ("Order Completed", Vocabulary::Segment, Meaning::Items(EventKind::Purchase)),
    ("Products Searched", Vocabulary::Segment, Meaning::Search),
    ("Product List Viewed", Vocabulary::Segment, Meaning::Nothing),
];

/// The top-level fields of an analytics event that [`raw_events`] reads; a caller converting a
/// larger object (a `dataLayer` entry may hold DOM elements) needs to copy only these.
pub const FIELDS: [&str; 5] = ["event", "ecommerce", "items", "search_term", "properties"];

/// The most products one analytics event may name.
pub const MAX_ITEMS: usize = 10_000;

/// The vocabulary and meaning of the event name `name` (exact, case-sensitive, as the specs
/// spell them), if localrec reads it.
pub fn meaning_of(name: &str) -> Option<(Vocabulary, Meaning)> {
    ANALYTICS_EVENTS.iter().find(|(n, ..)| *n == name).map(|&(_, v, m)| (v, m))
}

/// True for gtag's array form, `['event', name, params?]`.
pub fn is_gtag(v: &Value) -> bool {
    matches!(v, Value::Array(a) if a.first().and_then(Value::as_str) == Some("event"))
}

/// The localrec events of one analytics event (an object with an `event` name, or gtag's
/// `['event', name, params]`), each at time `ts` (milliseconds since the epoch), not yet
/// checked against a catalogue. An event that needs products and names none, or names one
/// without an id, is an [`Error::InvalidValue`] naming the field; `view_item_list` and
/// `Product List Viewed` give no events.
pub fn raw_events(event: &Value, ts: f64) -> Result<Vec<RawEvent>> {
    let flat;
    let event = if is_gtag(event) {
        flat = flatten_gtag(event)?;
        &flat
    } else {
        event
    };
    let Value::Object(obj) = event else {
        return Err(Error::invalid("event", format!("an analytics event must be an object, got {}", type_name(event))));
    };
    let name = match obj.get("event") {
        Some(Value::String(s)) => s.as_str(),
        None | Some(Value::Null) => return Err(Error::invalid("event", "missing: the name of the analytics event")),
        Some(other) => return Err(Error::invalid("event", format!("must be a string, got {}", type_name(other)))),
    };
    let Some((vocab, meaning)) = meaning_of(name) else {
        let known: Vec<&str> = ANALYTICS_EVENTS.iter().map(|(n, ..)| *n).collect();
        return Err(Error::invalid(
            "event",
            format!("`{name}` is not an e-commerce event localrec reads (one of: {})", known.join(", ")),
        ));
    };
    let at = |item: Option<String>, kind: EventKind, query: Option<String>| RawEvent {
        user: None,
        item,
        kind: Some(kind.as_str().to_string()),
        ts: Some(ts),
        query,
        value: None,
    };
    match meaning {
        Meaning::Nothing => Ok(Vec::new()),
        Meaning::Search => {
            let (field, q) = match vocab {
                Vocabulary::Ga4 => ("search_term", obj.get("search_term")),
                Vocabulary::Segment => ("properties.query", properties(obj, name)?.get("query")),
            };
            match q {
                Some(Value::String(s)) if !s.trim().is_empty() => {
                    Ok(vec![at(None, EventKind::Search, Some(s.clone()))])
                }
                Some(Value::String(_)) => {
                    Err(Error::invalid(field, format!("is empty: `{name}` needs the search text")))
                }
                None | Some(Value::Null) => {
                    Err(Error::invalid(field, format!("missing: `{name}` needs the search text")))
                }
                Some(other) => Err(Error::invalid(field, format!("must be a string, got {}", type_name(other)))),
            }
        }
        Meaning::Items(kind) => {
            let ids = match vocab {
                Vocabulary::Ga4 => ga4_items(obj, name)?,
                Vocabulary::Segment => segment_products(obj, name)?,
            };
            Ok(ids.into_iter().map(|id| at(Some(id), kind, None)).collect())
        }
    }
}

/// `['event', name, params]` as `{ event: name, ...params }`.
fn flatten_gtag(v: &Value) -> Result<Value> {
    let a = v.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut obj = match a.get(2) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(params)) => params.clone(),
        Some(other) => {
            return Err(Error::invalid(
                "gtag params",
                format!("the third element of ['event', name, params] must be an object, got {}", type_name(other)),
            ));
        }
    };
    obj.insert("event".into(), a.get(1).cloned().unwrap_or(Value::Null));
    Ok(Value::Object(obj))
}

/// The item ids of a GA4 event: `ecommerce.items[].item_id`, or `items[].item_id` (gtag).
fn ga4_items(obj: &Map<String, Value>, name: &str) -> Result<Vec<String>> {
    let (path, items) = match obj.get("ecommerce") {
        Some(Value::Object(ecommerce)) => ("ecommerce.items", ecommerce.get("items")),
        None | Some(Value::Null) => match obj.get("items") {
            Some(items) => ("items", Some(items)),
            None => ("ecommerce.items", None),
        },
        Some(other) => {
            return Err(Error::invalid("ecommerce", format!("must be an object, got {}", type_name(other))));
        }
    };
    let Some(items) = items.filter(|v| !v.is_null()) else {
        return Err(Error::invalid(path, format!("missing: `{name}` lists its products in `ecommerce.items`")));
    };
    list_ids(path, items, "item_id", name)
}

/// The product ids of a Segment event: `properties.products[].product_id`, or
/// `properties.product_id`.
fn segment_products(obj: &Map<String, Value>, name: &str) -> Result<Vec<String>> {
    let props = properties(obj, name)?;
    match (props.get("products").filter(|v| !v.is_null()), props.get("product_id").filter(|v| !v.is_null())) {
        (Some(products), _) => list_ids("properties.products", products, "product_id", name),
        (None, Some(id)) => Ok(vec![id_of("properties.product_id", id)?]),
        (None, None) => {
            let field = if name == "Order Completed" { "properties.products" } else { "properties.product_id" };
            Err(Error::invalid(field, format!("missing: `{name}` names no product")))
        }
    }
}

/// The `properties` object of a Segment event.
fn properties<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a Map<String, Value>> {
    match obj.get("properties") {
        Some(Value::Object(p)) => Ok(p),
        None | Some(Value::Null) => Err(Error::invalid("properties", format!("missing: `{name}` has no `properties`"))),
        Some(other) => Err(Error::invalid("properties", format!("must be an object, got {}", type_name(other)))),
    }
}

/// The ids of the array `list` (at `path`), each object's field `id_field`.
fn list_ids(path: &str, list: &Value, id_field: &str, name: &str) -> Result<Vec<String>> {
    let Value::Array(list) = list else {
        return Err(Error::invalid(path, format!("must be an array of products, got {}", type_name(list))));
    };
    if list.is_empty() {
        return Err(Error::invalid(path, format!("is empty: `{name}` needs at least one product")));
    }
    if list.len() > MAX_ITEMS {
        return Err(Error::invalid(path, format!("has {} products; the limit is {MAX_ITEMS}", list.len())));
    }
    list.iter()
        .enumerate()
        .map(|(i, p)| match p {
            Value::Object(p) => id_of(&format!("{path}[{i}].{id_field}"), p.get(id_field).unwrap_or(&Value::Null)),
            other => {
                Err(Error::invalid(format!("{path}[{i}]"), format!("must be an object, got {}", type_name(other))))
            }
        })
        .collect()
}

/// A product id: a non-empty string, or an integer (ids pushed as numbers are common).
fn id_of(path: &str, v: &Value) -> Result<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
        Value::String(_) => Err(Error::invalid(path, "is empty")),
        Value::Null => Err(Error::invalid(path, "missing: localrec needs the product's id")),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), ..) => Ok(i.to_string()),
            (_, Some(u), _) => Ok(u.to_string()),
            (.., Some(f)) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => Ok(format!("{f:.0}")),
            _ => Err(Error::invalid(path, format!("must be a string or an integer, got {n}"))),
        },
        other => Err(Error::invalid(path, format!("must be a string or an integer, got {}", type_name(other)))),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const TS: f64 = 1_700_000_000_000.0;

    /// (item, kind, query) of each event, after checking every one carries `TS`.
    fn mapped(v: Value) -> Vec<(Option<String>, String, Option<String>)> {
        let out = raw_events(&v, TS).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert!(out.iter().all(|e| e.ts == Some(TS) && e.user.is_none() && e.value.is_none()));
        out.into_iter().map(|e| (e.item, e.kind.unwrap(), e.query)).collect()
    }

    fn items(kind: &str, ids: &[&str]) -> Vec<(Option<String>, String, Option<String>)> {
        ids.iter().map(|id| (Some(id.to_string()), kind.to_string(), None)).collect()
    }

    /// The message of the error of `v`, which must be an `InvalidValue` naming `field`.
    fn error(v: Value, field: &str) -> String {
        match raw_events(&v, TS) {
            Err(e) => {
                assert!(matches!(&e, Error::InvalidValue { field: f, .. } if f == field), "{v}: {e:?}");
                e.to_string()
            }
            Ok(out) => panic!("{v}: expected an invalid `{field}`, got {out:?}"),
        }
    }

    /// A GA4 `dataLayer` e-commerce event (as in Google's "Measure ecommerce" guide).
    fn ga4(event: &str, ids: &[&str]) -> Value {
        let items: Vec<Value> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                json!({ "item_id": id, "item_name": "Stan and Friends Tee", "affiliation": "Google Merchandise Store",
                        "item_category": "Apparel", "index": i, "price": 10.01, "quantity": 3 })
            })
            .collect();
        json!({ "event": event, "ecommerce": { "currency": "USD", "value": 30.03, "items": items } })
    }

    #[test]
    fn every_ga4_name_maps_to_its_kind() {
        for (name, kind) in [
            ("view_item", "view"),
            ("select_item", "view"),
            ("add_to_cart", "cart"),
            ("remove_from_cart", "view"),
            ("purchase", "purchase"),
        ] {
            assert_eq!(mapped(ga4(name, &["SKU_12345"])), items(kind, &["SKU_12345"]), "{name}");
        }
        let search = json!({ "event": "search", "search_term": "t-shirts" });
        assert_eq!(mapped(search), vec![(None, "search".to_string(), Some("t-shirts".to_string()))]);
    }

    #[test]
    fn a_list_shown_stores_nothing() {
        let list = json!({ "event": "view_item_list", "ecommerce": { "item_list_id": "related_products",
            "item_list_name": "Related products", "items": [{ "item_id": "SKU_1" }, { "item_id": "SKU_2" }] } });
        assert!(mapped(list).is_empty());
        assert!(mapped(json!({ "event": "view_item_list" })).is_empty(), "even without items");
        let segment = json!({ "event": "Product List Viewed", "properties": { "list_id": "hot_deals_1",
            "category": "Deals", "products": [{ "product_id": "507f1f77bcf86cd799439011" }] } });
        assert!(mapped(segment).is_empty());
    }

    #[test]
    fn one_event_per_item_in_order() {
        let purchase = json!({ "event": "purchase", "ecommerce": { "transaction_id": "T_12345", "value": 72.05,
            "tax": 3.6, "shipping": 5.99, "currency": "USD",
            "items": [{ "item_id": "SKU_12345", "quantity": 3 }, { "item_id": "SKU_12346", "quantity": 2 },
                      { "item_id": 42 }] } });
        assert_eq!(mapped(purchase), items("purchase", &["SKU_12345", "SKU_12346", "42"]));
    }

    #[test]
    fn gtag_shapes_are_read() {
        let params =
            json!({ "currency": "USD", "value": 7.77, "items": [{ "item_id": "SKU_1" }, { "item_id": "SKU_2" }] });
        assert_eq!(mapped(json!(["event", "add_to_cart", params])), items("cart", &["SKU_1", "SKU_2"]));
        assert!(is_gtag(&json!(["event", "add_to_cart", params])));
        assert!(!is_gtag(&json!([{ "event": "add_to_cart" }])));
        assert!(!is_gtag(&json!(["consent", "default", {}])));
        let mut flat = params.clone();
        flat["event"] = json!("view_item");
        assert_eq!(mapped(flat), items("view", &["SKU_1", "SKU_2"]));
        assert_eq!(mapped(json!(["event", "search", { "search_term": "tee" }]))[0].2.as_deref(), Some("tee"));
        error(json!(["event", "add_to_cart", "SKU_1"]), "gtag params");
        error(json!(["event", "add_to_cart"]), "ecommerce.items");
        error(json!(["event"]), "event");
    }

    #[test]
    fn segment_aliases() {
        for (name, kind) in [
            ("Product Viewed", "view"),
            ("Product Clicked", "view"),
            ("Product Added", "cart"),
            ("Product Removed", "view"),
        ] {
            // Segment's e-commerce spec v2 example properties.
            let v = json!({ "type": "track", "event": name, "properties": { "product_id": "507f1f77bcf86cd799439011",
                "sku": "G-32", "category": "Games", "name": "Monopoly: 3rd Edition", "price": 18.99, "quantity": 1 } });
            assert_eq!(mapped(v), items(kind, &["507f1f77bcf86cd799439011"]), "{name}");
        }
        let order = json!({ "event": "Order Completed", "properties": { "checkout_id": "fksdjfsdjfisjf9sdfjsd9f",
            "order_id": "50314b8e9bcf000000000000", "total": 27.5, "currency": "USD",
            "products": [{ "product_id": "507f1f77bcf86cd799439011", "quantity": 1 },
                         { "product_id": "505bd76785ebb509fc183733", "quantity": 2 }] } });
        assert_eq!(mapped(order), items("purchase", &["507f1f77bcf86cd799439011", "505bd76785ebb509fc183733"]));
        let search = json!({ "event": "Products Searched", "properties": { "query": "blue roses" } });
        assert_eq!(mapped(search), vec![(None, "search".to_string(), Some("blue roses".to_string()))]);
    }

    #[test]
    fn missing_or_bad_ids_name_the_field() {
        let m = error(json!({ "event": "add_to_cart" }), "ecommerce.items");
        assert!(m.contains("missing") && m.contains("add_to_cart"), "{m}");
        error(json!({ "event": "add_to_cart", "ecommerce": {} }), "ecommerce.items");
        error(json!({ "event": "add_to_cart", "ecommerce": { "items": null } }), "ecommerce.items");
        assert!(
            error(json!({ "event": "purchase", "ecommerce": { "items": [] } }), "ecommerce.items").contains("empty")
        );
        error(json!({ "event": "view_item", "ecommerce": { "items": {} } }), "ecommerce.items");
        error(json!({ "event": "view_item", "ecommerce": "SKU_1" }), "ecommerce");
        let no_id =
            json!({ "event": "add_to_cart", "ecommerce": { "items": [{ "item_id": "a" }, { "item_name": "Tee" }] } });
        assert!(error(no_id, "ecommerce.items[1].item_id").contains("missing"));
        error(
            json!({ "event": "add_to_cart", "ecommerce": { "items": [{ "item_id": " " }] } }),
            "ecommerce.items[0].item_id",
        );
        error(
            json!({ "event": "add_to_cart", "ecommerce": { "items": [{ "item_id": 1.5 }] } }),
            "ecommerce.items[0].item_id",
        );
        error(
            json!({ "event": "add_to_cart", "ecommerce": { "items": [{ "item_id": true }] } }),
            "ecommerce.items[0].item_id",
        );
        error(json!({ "event": "add_to_cart", "ecommerce": { "items": ["a"] } }), "ecommerce.items[0]");
        error(json!({ "event": "search" }), "search_term");
        error(json!({ "event": "search", "search_term": "  " }), "search_term");
        error(json!({ "event": "search", "search_term": 7 }), "search_term");
        error(json!({ "event": "Product Added", "properties": {} }), "properties.product_id");
        error(json!({ "event": "Product Added" }), "properties");
        error(json!({ "event": "Order Completed", "properties": { "order_id": "1" } }), "properties.products");
        error(
            json!({ "event": "Order Completed", "properties": { "products": [{ "sku": "G-32" }] } }),
            "properties.products[0].product_id",
        );
        error(json!({ "event": "Products Searched", "properties": {} }), "properties.query");
        let too_many: Vec<Value> = (0..=MAX_ITEMS).map(|i| json!({ "item_id": i })).collect();
        error(json!({ "event": "view_item", "ecommerce": { "items": too_many } }), "ecommerce.items");
    }

    #[test]
    fn unknown_names_and_shapes_are_rejected() {
        let m = error(json!({ "event": "begin_checkout", "ecommerce": { "items": [{ "item_id": "a" }] } }), "event");
        assert!(m.contains("`begin_checkout`") && m.contains("view_item") && m.contains("Product Viewed"), "{m}");
        error(json!({ "event": "Add To Cart" }), "event");
        error(json!({ "event": 3 }), "event");
        error(json!({ "ecommerce": { "items": [] } }), "event");
        error(json!("view_item"), "event");
    }

    #[test]
    fn the_npm_data_layer_adapter_forwards_every_name() {
        // connectDataLayer forwards the dataLayer entries with these names to `track`.
        let js = include_str!("../web/npm/datalayer.js");
        let list = &js[js.find("const ANALYTICS_EVENTS = [").unwrap()..];
        let list = &list[..list.find("];").unwrap()];
        let quoted: Vec<&str> = list.split('\'').skip(1).step_by(2).collect();
        let ours: Vec<&str> = ANALYTICS_EVENTS.iter().map(|(n, ..)| *n).collect();
        assert_eq!(quoted, ours);
    }

    #[test]
    fn every_event_passes_validation_and_names_match_the_table() {
        for (name, vocab, meaning) in ANALYTICS_EVENTS {
            assert_eq!(meaning_of(name), Some((vocab, meaning)));
        }
        assert_eq!(meaning_of("VIEW_ITEM"), None, "names are exact");
        for e in raw_events(&ga4("add_to_cart", &["a", "b"]), TS).unwrap() {
            let v = e.validate(Some("me")).unwrap();
            assert_eq!((v.kind, v.ts), (EventKind::Cart, TS as i64));
        }
    }
}
