//! The bytes of a model bundle or a held-out dataset: downloaded from a URL (streamed, with
//! progress and a size limit) or copied from an `ArrayBuffer` or typed array. One function,
//! [`bytes`], serves both; a [`Source`] says which and how its errors read.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::js::{self, code};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_name = fetch)]
    fn fetch_url(url: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_name = fetch)]
    fn fetch_with(url: &str, init: &JsValue) -> Result<Promise, JsValue>;
}

/// What is being read, for limits and error messages.
pub struct Source {
    /// The method that reads it, which errors name.
    method: &'static str,
    /// What it is, e.g. `bundle`.
    noun: &'static str,
    /// The largest accepted, in bytes.
    max_bytes: f64,
    /// The same, for messages.
    max_text: &'static str,
    /// The error code of a file over the limit.
    too_large: &'static str,
}

/// A model bundle, for `Recommender.load` (the wasm32 address space is 4 GiB).
pub const BUNDLE: Source = Source {
    method: "Recommender.load",
    noun: "bundle",
    max_bytes: 2.0 * 1024.0 * 1024.0 * 1024.0,
    max_text: "2 GiB",
    too_large: code::BAD_BUNDLE,
};

/// A held-out dataset file, for `evaluate`.
pub const DATASET: Source = Source {
    method: "evaluate",
    noun: "dataset",
    max_bytes: 1024.0 * 1024.0 * 1024.0,
    max_text: "1 GiB",
    too_large: code::BAD_DATASET,
};

/// A held-out dataset file, for `Recommender.evaluateBaseline`.
pub const BASELINE_DATASET: Source = Source { method: "Recommender.evaluateBaseline", ..DATASET };

impl Source {
    fn too_large(&self) -> JsValue {
        js::error(self.too_large, format!("{}: the {} is larger than {}", self.method, self.noun, self.max_text))
    }
}

/// The bytes of `v`: a URL string (downloaded; `progress(loaded, total)` is told how far it
/// got, `total` when the server says), an `ArrayBuffer` or a typed array (copied).
pub async fn bytes(src: &Source, v: &JsValue, progress: &dyn Fn(f64, Option<f64>)) -> Result<Vec<u8>, JsValue> {
    if let Some(url) = v.as_string() {
        return download(src, &url, progress).await;
    }
    let Some(bytes) = buffer_view(v) else {
        return Err(js::invalid(
            src.method,
            format!("the {} must be a URL string, an ArrayBuffer or a Uint8Array, got {}", src.noun, js::type_name(v)),
        ));
    };
    if bytes.length() as f64 > src.max_bytes {
        return Err(src.too_large());
    }
    Ok(bytes.to_vec())
}

/// True for an `ArrayBuffer` or a typed array: bytes that [`bytes`] takes as they are.
pub fn is_buffer(v: &JsValue) -> bool {
    v.is_instance_of::<js_sys::ArrayBuffer>() || js_sys::ArrayBuffer::is_view(v)
}

/// The bytes of an `ArrayBuffer` or typed array (a view, not a copy), or `None` for any other value.
fn buffer_view(v: &JsValue) -> Option<Uint8Array> {
    if let Some(a) = v.dyn_ref::<js_sys::ArrayBuffer>() {
        Some(Uint8Array::new(a))
    } else if js_sys::ArrayBuffer::is_view(v) {
        let buf = js::get(v, "buffer");
        let off = js::get(v, "byteOffset").as_f64().unwrap_or(0.0) as u32;
        let len = js::get(v, "byteLength").as_f64().unwrap_or(0.0) as u32;
        Some(Uint8Array::new_with_byte_offset_and_length(&buf, off, len))
    } else {
        None
    }
}

/// The `NETWORK` error of downloading `src` from `url`.
pub fn network_error(src: &Source, url: &str, why: String) -> JsValue {
    js::error(code::NETWORK, format!("{}: could not download the {} from {url}: {why}", src.method, src.noun))
}

/// `fetch(url, init)`: the response, or why there is none (offline, refused).
pub async fn fetch(url: &str, init: &JsValue) -> Result<web_sys::Response, String> {
    let resp =
        JsFuture::from(fetch_with(url, init).map_err(|e| js::message_of(&e))?).await.map_err(|e| js::message_of(&e))?;
    resp.dyn_into().map_err(|_| "fetch did not return a Response".to_string())
}

async fn download(src: &Source, url: &str, progress: &dyn Fn(f64, Option<f64>)) -> Result<Vec<u8>, JsValue> {
    let net = |why: String| network_error(src, url, why);
    let resp = JsFuture::from(fetch_url(url).map_err(|e| net(js::message_of(&e)))?)
        .await
        .map_err(|e| net(js::message_of(&e)))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| net("fetch did not return a Response".into()))?;
    read(src, url, &resp, progress).await
}

/// The body of a response (an error for a status other than 2xx), streamed with progress and
/// the size limit.
pub async fn read(
    src: &Source,
    url: &str,
    resp: &web_sys::Response,
    progress: &dyn Fn(f64, Option<f64>),
) -> Result<Vec<u8>, JsValue> {
    let net = |why: String| network_error(src, url, why);
    if !resp.ok() {
        return Err(net(format!("HTTP {} {}", resp.status(), resp.status_text())));
    }
    let total = resp.headers().get("content-length").ok().flatten().and_then(|s| s.trim().parse::<f64>().ok());
    if total.is_some_and(|t| t > src.max_bytes) {
        return Err(src.too_large());
    }
    progress(0.0, total);
    let Some(body) = resp.body() else {
        let buf = JsFuture::from(resp.array_buffer().map_err(|e| net(js::message_of(&e)))?)
            .await
            .map_err(|e| net(js::message_of(&e)))?;
        let bytes = Uint8Array::new(&buf).to_vec();
        progress(bytes.len() as f64, total);
        return Ok(bytes);
    };
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut out = Vec::with_capacity(total.unwrap_or(0.0) as usize);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| net(js::message_of(&e)))?;
        if js::get(&chunk, "done").as_bool() == Some(true) {
            break;
        }
        let value = js::get(&chunk, "value");
        let Some(part) = value.dyn_ref::<Uint8Array>() else {
            return Err(net("the response body is not a byte stream".into()));
        };
        if (out.len() as f64) + part.length() as f64 > src.max_bytes {
            return Err(src.too_large());
        }
        let start = out.len();
        out.resize(start + part.length() as usize, 0);
        part.copy_to(&mut out[start..]);
        progress(out.len() as f64, total);
    }
    Ok(out)
}
