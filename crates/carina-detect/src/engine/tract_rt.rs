//! tract (pure Rust) on the ONNX export, with tract's matrix products spread over every core.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use tract_onnx::prelude::*;

use super::OpTime;
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

    /// Where the time goes: each kind of operation of the optimised plan with its time per run
    /// (over `runs` runs of one `[3, s, s]` image) and how many nodes it has, slowest first.
    pub(crate) fn profile(
        &self,
        input: &[f32],
        s: usize,
        runs: usize,
    ) -> Result<Vec<OpTime>, DetectError> {
        let runs = runs.max(1);
        let mut totals: HashMap<String, (Duration, HashSet<usize>)> = HashMap::new();
        for _ in 0..runs {
            let x = Tensor::from_shape(&[1, 3, s, s], input).map_err(err("building the input"))?;
            let mut state = self.plan.spawn().map_err(err("planning a run"))?;
            state
                .run_plan_with_eval(tvec!(x.into_tvalue()), |ctx, op_state, node, inputs| {
                    let started = Instant::now();
                    let out = tract_onnx::tract_core::plan::eval(ctx, op_state, node, inputs);
                    let entry = totals.entry(node.op().name().to_string()).or_default();
                    entry.0 += started.elapsed();
                    entry.1.insert(node.id);
                    out
                })
                .map_err(err("running the graph"))?;
        }
        let mut ops: Vec<OpTime> = totals
            .into_iter()
            .map(|(op, (time, nodes))| OpTime {
                op,
                ms_per_run: time.as_secs_f64() * 1e3 / runs as f64,
                nodes: nodes.len(),
            })
            .collect();
        ops.sort_by(|a, b| b.ms_per_run.total_cmp(&a.ms_per_run));
        Ok(ops)
    }
}
