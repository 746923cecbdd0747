//! Reading JavaScript values with clear errors, and building the `Error`s that cross into
//! JavaScript. Nothing here panics on any input.

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::error::Error;

/// Error codes set on every thrown `Error` (`err.code`), so callers can branch without parsing
/// messages.
pub mod code {
    /// A malformed argument: wrong type, missing field, value out of range.
    pub const INVALID_INPUT: &str = "INVALID_INPUT";
    /// An item id that is not in the bundle's catalogue.
    pub const UNKNOWN_ITEM: &str = "UNKNOWN_ITEM";
    /// A bundle that cannot be read: not a bundle, truncated, tampered, another format version.
    pub const BAD_BUNDLE: &str = "BAD_BUNDLE";
    /// The bundle could not be downloaded.
    pub const NETWORK: &str = "NETWORK";
    /// `device: 'webgpu'` was asked for and WebGPU could not be used.
    pub const WEBGPU_UNAVAILABLE: &str = "WEBGPU_UNAVAILABLE";
    /// IndexedDB failed (unavailable, blocked, aborted).
    pub const STORAGE: &str = "STORAGE";
    /// IndexedDB refused a write for lack of space.
    pub const QUOTA_EXCEEDED: &str = "QUOTA_EXCEEDED";
    /// The model failed while scoring on every backend.
    pub const INFERENCE: &str = "INFERENCE";
    /// A held-out dataset that cannot be read or does not belong to the bundle (`evaluate`).
    pub const BAD_DATASET: &str = "BAD_DATASET";
}

/// A JavaScript `Error` named `LocalrecError`, with `message` and `code`.
pub fn error(code: &str, message: impl AsRef<str>) -> JsValue {
    let e = js_sys::Error::new(message.as_ref());
    e.set_name("LocalrecError");
    let _ = Reflect::set(&e, &"code".into(), &code.into());
    e.into()
}

/// An invalid-input error for `method`.
pub fn invalid(method: &str, message: impl AsRef<str>) -> JsValue {
    error(code::INVALID_INPUT, format!("{method}: {}", message.as_ref()))
}

/// A crate error as a JavaScript `Error` for `method`, with the code that fits its kind.
pub fn from_error(method: &str, e: &Error) -> JsValue {
    let c = match e {
        Error::Bundle { .. } => code::BAD_BUNDLE,
        Error::UnknownItem { .. } => code::UNKNOWN_ITEM,
        Error::EmptyField { .. }
        | Error::InvalidTimestamp { .. }
        | Error::UnknownEventKind { .. }
        | Error::TooLong { .. }
        | Error::InvalidValue { .. } => code::INVALID_INPUT,
        _ => code::INFERENCE,
    };
    let hint = match e {
        Error::UnknownItem { .. } => " (it is not in the model bundle's catalogue)",
        _ => "",
    };
    error(c, format!("{method}: {e}{hint}"))
}

/// The message of a thrown JavaScript value (an `Error`'s message, or the value as text).
pub fn message_of(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        let name: String = e.name().into();
        let msg: String = e.message().into();
        return if name.is_empty() || name == "Error" { msg } else { format!("{name}: {msg}") };
    }
    if let Some(e) = v.dyn_ref::<web_sys::DomException>() {
        return format!("{}: {}", e.name(), e.message());
    }
    v.as_string().unwrap_or_else(|| format!("{v:?}"))
}

/// The JavaScript type of a value, as an error message names it.
pub fn type_name(v: &JsValue) -> &'static str {
    if v.is_undefined() {
        "undefined"
    } else if v.is_null() {
        "null"
    } else if v.is_string() {
        "a string"
    } else if v.as_f64().is_some() {
        "a number"
    } else if v.as_bool().is_some() {
        "a boolean"
    } else if v.is_bigint() {
        "a bigint"
    } else if Array::is_array(v) {
        "an array"
    } else if v.is_function() {
        "a function"
    } else if v.is_object() {
        "an object"
    } else {
        "a symbol"
    }
}

/// True for a plain object argument (not null, not an array, not a function).
pub fn is_object(v: &JsValue) -> bool {
    v.is_object() && !Array::is_array(v) && !v.is_function()
}

/// The options object of `method`: `undefined`/`null` are an empty object, anything but an
/// object is an error.
pub fn options(method: &str, v: &JsValue) -> Result<JsValue, JsValue> {
    if v.is_undefined() || v.is_null() {
        Ok(Object::new().into())
    } else if is_object(v) {
        Ok(v.clone())
    } else {
        Err(invalid(method, format!("the options must be an object, got {}", type_name(v))))
    }
}

/// Field `name` of `obj`; `undefined` when absent or when a getter throws.
pub fn get(obj: &JsValue, name: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// True when `v` is `undefined` or `null`.
pub fn absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

// The checkers below read one value of a JavaScript argument (an option field, an event
// field) and return the message of an `INVALID_INPUT` error without the method's name, which
// the caller adds. `undefined` and `null` are absent.

/// An optional string named `name`.
pub fn opt_string(name: &str, v: &JsValue) -> Result<Option<String>, String> {
    if absent(v) {
        return Ok(None);
    }
    v.as_string().map(Some).ok_or_else(|| format!("`{name}` must be a string, got {}", type_name(v)))
}

/// An optional finite number named `name`; `what` says what it must be.
pub fn opt_number(name: &str, v: &JsValue, what: &str) -> Result<Option<f64>, String> {
    if absent(v) {
        return Ok(None);
    }
    match v.as_f64() {
        Some(x) if x.is_finite() => Ok(Some(x)),
        Some(x) => Err(format!("`{name}` must be {what}, got {x}")),
        None => Err(format!("`{name}` must be {what}, got {}", type_name(v))),
    }
}

/// An optional boolean named `name`.
pub fn opt_bool(name: &str, v: &JsValue) -> Result<Option<bool>, String> {
    if absent(v) {
        return Ok(None);
    }
    v.as_bool().map(Some).ok_or_else(|| format!("`{name}` must be a boolean, got {}", type_name(v)))
}

/// An optional integer in `min..=max` named `name`.
pub fn opt_int(name: &str, v: &JsValue, min: usize, max: usize) -> Result<Option<usize>, String> {
    let what = format!("an integer from {min} to {max}");
    match opt_number(name, v, &what)? {
        None => Ok(None),
        Some(x) if x.fract() == 0.0 && x >= min as f64 && x <= max as f64 => Ok(Some(x as usize)),
        Some(x) => Err(format!("`{name}` must be {what}, got {x}")),
    }
}

/// An optional function named `name`.
pub fn opt_function(name: &str, v: &JsValue) -> Result<Option<Function>, String> {
    if absent(v) {
        return Ok(None);
    }
    v.dyn_ref::<Function>()
        .cloned()
        .map(Some)
        .ok_or_else(|| format!("`{name}` must be a function, got {}", type_name(v)))
}

/// A list of at most `max` strings, given as an array; `what` names it in errors.
pub fn string_list(v: &JsValue, what: &str, max: usize) -> Result<Vec<String>, String> {
    if !Array::is_array(v) {
        return Err(format!("{what} must be an array of strings, got {}", type_name(v)));
    }
    let a: &Array = v.unchecked_ref();
    if a.length() as usize > max {
        return Err(format!("{what} has {} entries; the limit is {max}", a.length()));
    }
    let mut out = Vec::with_capacity(a.length() as usize);
    for (i, x) in a.iter().enumerate() {
        match x.as_string() {
            Some(s) => out.push(s),
            None => return Err(format!("{what}[{i}] must be a string, got {}", type_name(&x))),
        }
    }
    Ok(out)
}

/// A plain object with the given fields set (`undefined` values are left out).
pub fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        if !v.is_undefined() {
            let _ = Reflect::set(&o, &JsValue::from_str(k), v);
        }
    }
    o.into()
}

/// Calls a user callback with one argument, ignoring what it returns or throws (progress
/// reports must not break loading).
pub fn call_quietly(f: Option<&Function>, arg: &JsValue) {
    if let Some(f) = f {
        if let Err(e) = f.call1(&JsValue::UNDEFINED, arg) {
            web_sys::console::warn_2(&"localrec: the onProgress callback threw:".into(), &e);
        }
    }
}

/// The JSON value of `v` (named `name` in errors): `undefined` and `null` are `null`; strings,
/// finite numbers, booleans, arrays and plain objects' own enumerable fields are read, to at
/// most `depth` levels of nesting and 100,000 entries per array. Functions, symbols, bigints and
/// non-finite numbers are an error, as is nesting deeper (a cycle never ends).
pub fn json(name: &str, v: &JsValue, depth: usize) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    if absent(v) {
        return Ok(Value::Null);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(s) = v.as_string() {
        return Ok(Value::String(s));
    }
    if let Some(x) = v.as_f64() {
        if x.fract() == 0.0 && x.abs() <= 9_007_199_254_740_991.0 {
            return Ok(Value::from(x as i64));
        }
        return serde_json::Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| format!("`{name}` must be a finite number, got {x}"));
    }
    let deeper = || format!("`{name}` is nested too deeply");
    if Array::is_array(v) {
        let a: &Array = v.unchecked_ref();
        if a.length() > 100_000 {
            return Err(format!("`{name}` has {} entries; the limit is 100000", a.length()));
        }
        let d = depth.checked_sub(1).ok_or_else(deeper)?;
        return a.iter().enumerate().map(|(i, x)| json(&format!("{name}[{i}]"), &x, d)).collect();
    }
    if is_object(v) {
        let d = depth.checked_sub(1).ok_or_else(deeper)?;
        let mut map = serde_json::Map::new();
        for k in Object::keys(v.unchecked_ref::<Object>()).iter() {
            let Some(k) = k.as_string() else { continue };
            let x = json(&format!("{name}.{k}"), &get(v, &k), d)?;
            map.insert(k, x);
        }
        return Ok(Value::Object(map));
    }
    Err(format!("`{name}` must be JSON data (strings, numbers, arrays, objects), got {}", type_name(v)))
}

/// Resolves after the browser had a chance to render (a macrotask later), so that a long
/// computation can show its progress, or a write can wait until the caller has its answer.
pub async fn next_tick() {
    let p = Promise::new(&mut |resolve, _| {
        let set_timeout = get(&js_sys::global(), "setTimeout");
        if let Some(f) = set_timeout.dyn_ref::<Function>() {
            if f.call2(&JsValue::UNDEFINED, &resolve, &JsValue::from_f64(0.0)).is_ok() {
                return;
            }
        }
        let _ = resolve.call0(&JsValue::UNDEFINED);
    });
    let _ = JsFuture::from(p).await;
}
