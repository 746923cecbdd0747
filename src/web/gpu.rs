//! The page's WebGPU device, initialised once per page (burn's runtime cannot be initialised
//! twice). Only the WebGPU build of the module has it (crate feature `webgpu`): the CPU-only
//! module, which the package's entry point loads when WebGPU is not asked for or not there,
//! answers that it has none, and never carries the WebGPU runtime or its shader compiler.

#[cfg(feature = "webgpu")]
pub use with_webgpu::{destroy_gpu, gpu, gpu_failed};
#[cfg(not(feature = "webgpu"))]
pub use without_webgpu::{destroy_gpu, gpu, gpu_failed};

#[cfg(feature = "webgpu")]
mod with_webgpu {
    use std::cell::RefCell;

    use burn::tensor::Device;
    use js_sys::Promise;
    use wasm_bindgen::JsValue;
    use wasm_bindgen_futures::{JsFuture, future_to_promise};

    use crate::web::js;

    #[derive(Clone)]
    enum Gpu {
        Untried,
        Pending(Promise),
        Ready { device: Device, handle: burn::tensor::wgpu::wgpu::Device, adapter: String },
        Failed(String),
    }

    thread_local! {
        static GPU: RefCell<Gpu> = const { RefCell::new(Gpu::Untried) };
    }

    async fn init_gpu() -> Result<(Device, burn::tensor::wgpu::wgpu::Device, String), String> {
        let navigator = js::get(&js_sys::global(), "navigator");
        if js::absent(&js::get(&navigator, "gpu")) {
            return Err("this browser offers no WebGPU (`navigator.gpu` is missing)".into());
        }
        match Device::wgpu_options().init_with_setup_async().await {
            Ok((device, setup)) => {
                let info = setup.adapter.get_info();
                let name = if info.name.is_empty() { "unnamed adapter".to_string() } else { info.name.clone() };
                Ok((device, setup.device, format!("{name} ({:?})", info.backend)))
            }
            Err(e) => Err(format!("WebGPU could not be initialised: {e}")),
        }
    }

    /// The page's WebGPU device and adapter description, or why there is none.
    pub async fn gpu() -> Result<(Device, String), String> {
        loop {
            let state = GPU.with(|g| g.borrow().clone());
            match state {
                Gpu::Ready { device, adapter, .. } => return Ok((device, adapter)),
                Gpu::Failed(why) => return Err(why),
                Gpu::Pending(p) => {
                    let _ = JsFuture::from(p).await;
                }
                Gpu::Untried => {
                    let p = future_to_promise(async {
                        let state = match init_gpu().await {
                            Ok((device, handle, adapter)) => Gpu::Ready { device, handle, adapter },
                            Err(why) => Gpu::Failed(why),
                        };
                        GPU.with(|g| *g.borrow_mut() = state);
                        Ok(JsValue::UNDEFINED)
                    });
                    GPU.with(|g| {
                        let mut g = g.borrow_mut();
                        if matches!(*g, Gpu::Untried) {
                            *g = Gpu::Pending(p.clone());
                        }
                    });
                    let _ = JsFuture::from(p).await;
                }
            }
        }
    }

    /// Marks WebGPU unusable for the rest of the page's life.
    pub fn gpu_failed(why: &str) {
        GPU.with(|g| *g.borrow_mut() = Gpu::Failed(why.to_string()));
    }

    /// Destroys the page's WebGPU device, as a driver reset would (for tests). False when there is
    /// none.
    pub fn destroy_gpu() -> bool {
        GPU.with(|g| match &*g.borrow() {
            Gpu::Ready { handle, .. } => {
                handle.destroy();
                true
            }
            _ => false,
        })
    }
}

#[cfg(not(feature = "webgpu"))]
mod without_webgpu {
    use burn::tensor::Device;

    /// Why this module has no WebGPU device.
    const CPU_ONLY: &str = "this is localrec's CPU-only module (built without WebGPU); the package loads its WebGPU module when WebGPU is asked for and available";

    /// There is no WebGPU device in the CPU-only module.
    pub async fn gpu() -> Result<(Device, String), String> {
        Err(CPU_ONLY.into())
    }

    /// Nothing to mark: there is no WebGPU here.
    pub fn gpu_failed(_why: &str) {}

    /// No device to destroy.
    pub fn destroy_gpu() -> bool {
        false
    }
}
