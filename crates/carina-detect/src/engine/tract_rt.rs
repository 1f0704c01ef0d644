//! tract (pure Rust) on the ONNX export, with tract's matrix products spread over every core.

use std::sync::{Arc, Once};

use tract_onnx::prelude::*;

use crate::DetectError;
use crate::model::EfficientDet;

type Plan = Arc<TypedRunnableModel>;

pub(crate) struct TractRuntime {
    plan: Plan,
}

fn err(context: &str) -> impl Fn(TractError) -> DetectError + '_ {
    move |e| DetectError::Engine(format!("tract: {context}: {e:#}"))
}

/// Makes tract's default executor a pool with one thread per available core (once per
/// process; tract's own default is single-threaded).
pub fn use_all_cores() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        tract_linalg::multithread::set_default_executor(
            tract_linalg::multithread::Executor::multithread(n),
        );
    });
}

impl TractRuntime {
    pub(crate) fn new(model: &EfficientDet) -> Result<Self, DetectError> {
        let bytes = super::export_onnx(model)?;
        Self::from_onnx(&bytes)
    }

    pub(crate) fn from_onnx(bytes: &[u8]) -> Result<Self, DetectError> {
        use_all_cores();
        let plan = tract_onnx::onnx()
            .model_for_read(&mut &bytes[..])
            .map_err(err("reading the ONNX graph"))?
            .into_optimized()
            .map_err(err("optimising the graph"))?
            .into_runnable()
            .map_err(err("planning the graph"))?;
        Ok(Self { plan })
    }

    /// The flat outputs (`(shape, values)`) for one `[3, s, s]` image.
    pub(crate) fn run(&self, input: &[f32], s: usize) -> Result<super::RawOutputs, DetectError> {
        let x = Tensor::from_shape(&[1, 3, s, s], input).map_err(err("building the input"))?;
        let outputs = self
            .plan
            .run(tvec!(x.into_tvalue()))
            .map_err(err("running the graph"))?;
        outputs
            .iter()
            .map(|t| {
                let view = t
                    .to_plain_array_view::<f32>()
                    .map_err(err("reading an output"))?;
                Ok((view.shape().to_vec(), view.iter().copied().collect()))
            })
            .collect()
    }
}
