//! Where the model runs: the backend chosen at load time ([`Runtime::load`]) — the page's
//! WebGPU device (`gpu.rs`) or the CPU — and the move to the CPU when the GPU fails during a
//! session ([`Runtime::with_fallback`], the one place every GPU call goes through).

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use burn::tensor::Device;
use js_sys::Function;
use wasm_bindgen::JsValue;

use super::convert::progress;
use super::gpu::{gpu, gpu_failed};
use super::js::{self, code};
use crate::bundle::Bundle;
use crate::serve::Engine;

// ---------------------------------------------------------------------------------------------
// The backend of one loaded model.

/// Which backend `Recommender.load` should use.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub enum DeviceChoice {
    /// WebGPU when the browser has it, else the CPU.
    #[default]
    Auto,
    /// WebGPU or an error.
    WebGpu,
    /// The CPU.
    Cpu,
}

/// The backend that runs the model.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    WebGpu,
    Cpu,
}

impl Backend {
    /// As JavaScript names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::WebGpu => "webgpu",
            Backend::Cpu => "cpu",
        }
    }
}

struct BackendState {
    backend: Backend,
    /// Why the model runs on the CPU although WebGPU was allowed.
    reason: Option<String>,
    adapter: Option<String>,
}

/// How one try of a computation on the model ended, when it did not succeed.
pub enum Failed {
    /// The model failed on its device: on WebGPU, worth one more try on the CPU.
    Model(crate::Error),
    /// Any other error, returned as it is.
    Other(JsValue),
}

impl From<crate::Error> for Failed {
    fn from(e: crate::Error) -> Failed {
        Failed::Model(e)
    }
}

/// The model of one `Recommender` on its backend, moved to the CPU for good if the GPU fails.
pub struct Runtime {
    engine: RefCell<Rc<Engine>>,
    /// Kept while on WebGPU, to rebuild the model on the CPU if the GPU fails.
    bundle: RefCell<Option<Bundle>>,
    state: RefCell<BackendState>,
}

impl Runtime {
    /// Builds the model on the backend `choice` asks for, with one warm-up pass, reporting the
    /// phases `model` and `warmup` to `cb`.
    pub async fn load(bundle: Bundle, choice: DeviceChoice, cb: Option<&Function>) -> Result<Runtime, JsValue> {
        const M: &str = "Recommender.load";
        let bad = |e: &crate::Error| js::from_error(M, e);
        let mut reason = None;
        if choice != DeviceChoice::Cpu {
            let gpu_try = async {
                let (device, adapter) = gpu().await?;
                progress(cb, "model", None, None);
                let engine = match Engine::new(&bundle, &device) {
                    Ok(e) => e.with_fixed_shape(),
                    // A bundle that does not fit its own config is the bundle's fault, not the GPU's.
                    Err(e @ crate::Error::Bundle { .. }) => return Ok(Err(bad(&e))),
                    Err(e) => return Err(format!("the model could not be built on WebGPU: {e}")),
                };
                progress(cb, "warmup", None, None);
                engine.warm_up().await.map_err(|e| format!("the WebGPU warm-up failed: {e}"))?;
                Ok(Ok((engine, adapter)))
            };
            match gpu_try.await {
                Ok(Ok((engine, adapter))) => {
                    let state = BackendState { backend: Backend::WebGpu, reason: None, adapter: Some(adapter) };
                    return Ok(Runtime::new(engine, Some(bundle), state));
                }
                Ok(Err(bundle_error)) => return Err(bundle_error),
                Err(why) if choice == DeviceChoice::WebGpu => {
                    return Err(js::error(
                        code::WEBGPU_UNAVAILABLE,
                        format!("{M}: device 'webgpu' was asked for, but {why}"),
                    ));
                }
                Err(why) => reason = Some(why),
            }
        }
        progress(cb, "model", None, None);
        let engine = Engine::new(&bundle, &Device::flex()).map_err(|e| bad(&e))?;
        progress(cb, "warmup", None, None);
        engine
            .warm_up()
            .await
            .map_err(|e| js::error(code::INFERENCE, format!("{M}: the model failed on the CPU: {e}")))?;
        Ok(Runtime::new(engine, None, BackendState { backend: Backend::Cpu, reason, adapter: None }))
    }

    fn new(engine: Engine, bundle: Option<Bundle>, state: BackendState) -> Runtime {
        Runtime { engine: RefCell::new(Rc::new(engine)), bundle: RefCell::new(bundle), state: RefCell::new(state) }
    }

    /// The backend that runs the model now.
    pub fn backend(&self) -> Backend {
        self.state.borrow().backend
    }

    /// Why the model runs on the CPU although WebGPU was allowed.
    pub fn fallback_reason(&self) -> Option<String> {
        self.state.borrow().reason.clone()
    }

    /// The WebGPU adapter in use; `None` on the CPU.
    pub fn adapter(&self) -> Option<String> {
        let s = self.state.borrow();
        if s.backend == Backend::WebGpu { s.adapter.clone() } else { None }
    }

    /// The model as it is now (the requests of a session share it).
    pub fn engine(&self) -> Rc<Engine> {
        self.engine.borrow().clone()
    }

    /// Runs `task` on the model. If the model fails on WebGPU, it is rebuilt on the CPU (for
    /// the rest of the page's life: later loads use the CPU too) and `task` runs once more
    /// there. A model that fails on the CPU is an `INFERENCE` error, "`method`: the model
    /// failed: …" (without `method`: "the model failed: …"); `doing` completes "the WebGPU
    /// device failed while …" in `fallbackReason`.
    pub async fn with_fallback<T, F, Fut>(&self, doing: &str, method: Option<&str>, task: F) -> Result<T, JsValue>
    where
        F: Fn(Rc<Engine>) -> Fut,
        Fut: Future<Output = Result<T, Failed>>,
    {
        let failed = |e: crate::Error| {
            let at = method.map(|m| format!("{m}: ")).unwrap_or_default();
            js::error(code::INFERENCE, format!("{at}the model failed: {e}"))
        };
        match task(self.engine()).await {
            Ok(v) => Ok(v),
            Err(Failed::Other(e)) => Err(e),
            Err(Failed::Model(e)) if self.backend() == Backend::WebGpu => {
                self.fall_back(format!("the WebGPU device failed while {doing}: {e}"))?;
                match task(self.engine()).await {
                    Ok(v) => Ok(v),
                    Err(Failed::Other(e)) => Err(e),
                    Err(Failed::Model(e)) => Err(failed(e)),
                }
            }
            Err(Failed::Model(e)) => Err(failed(e)),
        }
    }

    /// After a WebGPU failure: rebuilds the model on the CPU and stays there.
    fn fall_back(&self, why: String) -> Result<(), JsValue> {
        if self.backend() == Backend::Cpu {
            return Ok(()); // another request already did
        }
        let bundle = self.bundle.borrow_mut().take();
        let Some(bundle) = bundle else {
            return Err(js::error(
                code::INFERENCE,
                format!("the WebGPU device failed ({why}) and the model cannot be rebuilt"),
            ));
        };
        let cpu = Engine::new(&bundle, &Device::flex()).map_err(|e| js::from_error("recommend", &e))?;
        web_sys::console::warn_1(&format!("localrec: moved to the CPU backend: {why}").into());
        gpu_failed(&why);
        *self.engine.borrow_mut() = Rc::new(cpu);
        *self.state.borrow_mut() = BackendState { backend: Backend::Cpu, reason: Some(why), adapter: None };
        Ok(())
    }
}
