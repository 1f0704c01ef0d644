//! ONNX Runtime on the ONNX export, through the `ort` crate with its `load-dynamic` feature: the
//! shared library is found at run time through `ORT_DYLIB_PATH` (the `onnxruntime` Python wheel
//! carries one: `.../site-packages/onnxruntime/capi/libonnxruntime.so.*`). Nothing is linked or
//! downloaded at build time.

use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::value::Tensor;

use crate::DetectError;
use crate::model::EfficientDet;

/// Why ONNX Runtime cannot be used (the caller falls back to tract).
#[derive(Debug, Clone)]
pub(crate) struct OrtUnavailable(pub String);

pub(crate) struct OrtRuntime {
    // `Session::run` takes `&mut self`; predictions from several threads take turns.
    session: Mutex<Session>,
}

/// The process's one ONNX Runtime environment, or why there is none.
fn environment() -> Result<&'static Environment, OrtUnavailable> {
    static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = match std::env::var_os("ORT_DYLIB_PATH") {
            Some(p) if !p.is_empty() => p,
            _ => {
                return Err("ORT_DYLIB_PATH is not set; point it at libonnxruntime.so".into());
            }
        };
        let shown = std::path::Path::new(&path).display().to_string();
        if !std::path::Path::new(&path).is_file() {
            return Err(format!("ORT_DYLIB_PATH={shown} is not a file"));
        }
        ort::init_from(&path)
            .map_err(|e| format!("cannot load {shown}: {e}"))?
            .with_name("carina")
            .build()
            .map_err(|e| format!("cannot start ONNX Runtime from {shown}: {e}"))
    })
    .as_ref()
    .map_err(|e| OrtUnavailable(e.clone()))
}

impl OrtRuntime {
    pub(crate) fn new(model: &EfficientDet) -> Result<Self, OrtUnavailable> {
        let env = environment()?;
        let bytes = super::export_onnx(model).map_err(|e| OrtUnavailable(e.to_string()))?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let why = |e: &dyn std::fmt::Display| {
            OrtUnavailable(format!("ONNX Runtime could not load the model: {e}"))
        };
        let mut builder = Session::builder(env)
            .map_err(|e| why(&e))?
            .with_intra_threads(threads)
            .map_err(|e| why(&e))?;
        let session = builder.commit_from_memory(&bytes).map_err(|e| why(&e))?;
        Ok(Self {
            session: Mutex::new(session),
        })
    }

    pub(crate) fn run(&self, input: &[f32], s: usize) -> Result<super::RawOutputs, DetectError> {
        let fail = |e: ort::Error| DetectError::Engine(format!("ONNX Runtime: {e}"));
        let x = Tensor::from_array(([1usize, 3, s, s], input.to_vec())).map_err(fail)?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| DetectError::Engine("ONNX Runtime session poisoned".into()))?;
        let outputs = session.run(ort::inputs![x]).map_err(fail)?;
        outputs
            .iter()
            .map(|(_, v)| {
                let (shape, data) = v.try_extract_tensor::<f32>().map_err(fail)?;
                let shape = shape.iter().map(|&d| d as usize).collect();
                Ok((shape, data.to_vec()))
            })
            .collect()
    }
}
