//! Downloaded bundles kept in the browser's Cache API (cache [`CACHE_NAME`], keyed by URL), so
//! that a bundle is downloaded once and reused across reloads and offline — and never served
//! stale or corrupt:
//!
//! - **Fresh**: a cached copy is revalidated with the server first (a conditional request with
//!   the copy's `ETag` or `Last-Modified`): `304 Not Modified` serves the copy (phase `cache`),
//!   a new `200` replaces it (phase `download`), an error status fails the load (the bundle is
//!   gone). A copy without validators is downloaded again.
//! - **Offline**: when the request cannot be made at all, the copy is served (phase `cache`).
//! - **Intact**: the caller parses what it gets; a cached copy that does not parse (its
//!   whole-file checksum fails) is deleted and the bundle downloaded again
//!   ([`BundleBytes::discard`]).
//!
//! Where the Cache API is missing (an insecure origin, a browser without it) or refuses, the
//! bundle is simply downloaded. `Recommender.load(url, { cache: false })` turns it off.

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

use super::download::{self, Source};
use super::js;

/// A Cache API `Cache` (called through its JavaScript methods).
#[derive(Clone)]
struct Cache(JsValue);

impl Cache {
    /// Calls method `name` with `args` and waits for the promise it returns.
    async fn call(&self, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        let f: Function = js::get(&self.0, name).dyn_into().map_err(|_| JsValue::from_str("no such method"))?;
        let p: Promise = f.apply(&self.0, &args.iter().collect::<Array>())?.dyn_into()?;
        JsFuture::from(p).await
    }
}

/// The Cache API cache that holds bundles (the version is of this layout).
pub const CACHE_NAME: &str = "localrec-bundles-v1";

/// Where the bytes came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Downloaded now.
    Network,
    /// The cached copy, revalidated or offline.
    Cache,
}

/// A bundle's bytes and where they came from.
pub struct BundleBytes {
    /// The file.
    pub bytes: Vec<u8>,
    /// Network or cache.
    pub origin: Origin,
    cache: Option<Cache>,
    url: String,
}

impl BundleBytes {
    /// Deletes the cached copy (it did not parse), so that the next load downloads it again.
    pub async fn discard(&self) {
        if let Some(c) = &self.cache {
            let _ = c.call("delete", &[self.url.as_str().into()]).await;
        }
    }
}

/// The bundle cache, if this context has the Cache API and lets us open it.
async fn open() -> Option<Cache> {
    let storage = js::get(&js_sys::global(), "caches");
    if js::absent(&storage) {
        return None;
    }
    let opened = Cache(storage).call("open", &[CACHE_NAME.into()]).await.ok()?;
    (!js::absent(&opened)).then_some(Cache(opened))
}

/// A cached copy: its bytes and validators.
struct Copy {
    bytes: Vec<u8>,
    etag: Option<String>,
    last_modified: Option<String>,
}

async fn cached(cache: &Cache, url: &str) -> Option<Copy> {
    let resp: Response = cache.call("match", &[url.into()]).await.ok()?.dyn_into().ok()?;
    let header = |name: &str| resp.headers().get(name).ok().flatten();
    let (etag, last_modified) = (header("etag"), header("last-modified"));
    let buf = JsFuture::from(resp.array_buffer().ok()?).await.ok()?;
    Some(Copy { bytes: Uint8Array::new(&buf).to_vec(), etag, last_modified })
}

/// Keeps `bytes` as the copy of `url`, with the validators of `resp`. A refusal (quota) only
/// loses the copy.
async fn store(cache: &Cache, url: &str, resp: &Response, bytes: &[u8]) {
    let headers = js_sys::Object::new();
    for name in ["etag", "last-modified", "content-type"] {
        if let Some(v) = resp.headers().get(name).ok().flatten() {
            let _ = Reflect::set(&headers, &name.into(), &v.into());
        }
    }
    let body = Uint8Array::from(bytes);
    let init = js::object(&[("headers", headers.into())]);
    let made = Reflect::get(&js_sys::global(), &"Response".into())
        .and_then(|ctor| ctor.dyn_into::<Function>())
        .and_then(|ctor| Reflect::construct(&ctor, &Array::of2(&body, &init)));
    let stored = match made {
        Ok(copy) => cache.call("put", &[url.into(), copy]).await.map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = stored {
        web_sys::console::warn_1(&format!("localrec: the bundle was not cached: {}", js::message_of(&e)).into());
    }
}

/// The bytes of the bundle at `url`, from the cache when it is fresh (or when offline), else
/// downloaded and cached. `progress(phase, loaded, total)` reports `download` as it streams,
/// or `cache` once for a cached copy.
pub async fn bundle(
    src: &Source,
    url: &str,
    use_cache: bool,
    progress: &dyn Fn(&str, f64, Option<f64>),
) -> Result<BundleBytes, JsValue> {
    let cache = if use_cache { open().await } else { None };
    let copy = match &cache {
        Some(c) => cached(c, url).await,
        None => None,
    };
    let download_progress = |loaded: f64, total: Option<f64>| progress("download", loaded, total);
    let mut validators = Vec::new();
    if let Some(c) = &copy {
        if let Some(e) = &c.etag {
            validators.push(("If-None-Match", JsValue::from_str(e)));
        } else if let Some(m) = &c.last_modified {
            validators.push(("If-Modified-Since", JsValue::from_str(m)));
        }
    }
    let init = js::object(&[("headers", js::object(&validators)), ("cache", "no-store".into())]);
    let resp = match download::fetch(url, &init).await {
        Ok(r) => r,
        Err(why) => {
            // Offline (or the request refused): the copy, if there is one.
            return match copy {
                Some(c) => {
                    progress("cache", c.bytes.len() as f64, Some(c.bytes.len() as f64));
                    Ok(BundleBytes { bytes: c.bytes, origin: Origin::Cache, cache, url: url.into() })
                }
                None => Err(download::network_error(src, url, why)),
            };
        }
    };
    if resp.status() == 304 {
        if let Some(c) = copy {
            progress("cache", c.bytes.len() as f64, Some(c.bytes.len() as f64));
            return Ok(BundleBytes { bytes: c.bytes, origin: Origin::Cache, cache, url: url.into() });
        }
    }
    let bytes = download::read(src, url, &resp, &download_progress).await?;
    if let Some(c) = &cache {
        store(c, url, &resp, &bytes).await;
    }
    Ok(BundleBytes { bytes, origin: Origin::Network, cache, url: url.into() })
}
