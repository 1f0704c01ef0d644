//! SiLU (`x · sigmoid(x)`) as one operation on burn's flex CPU backend; batch norm in training
//! (with or without the SiLU after it) likewise, in [`batch_norm`].
//!
//! Composed from burn's operations, SiLU costs a sigmoid (scalar `expf`) and a product forward
//! and four element-wise passes backward (both products' gradients, the sigmoid's, their sum),
//! each allocating a tensor as large as the activation and running on one core; EfficientDet-D0
//! applies it to every activation of the backbone and the BiFPN. Here it is one pass forward
//! and one backward, split over the cores, with a vectorisable exponential, and the autodiff
//! graph keeps only the input. On a 2-core machine this took the D0 training step (batch 4,
//! 512 px, `carina bench train`) from 7.66 s to 6.48 s.
//!
//! [`silu`] takes this path for f32 tensors on flex (with or without autodiff) and falls back to
//! `burn::tensor::activation::silu` everywhere else: GPU backends, the ONNX capture, other
//! float types. The exponential is a vectorisable polynomial within 2 ulp of `f32::exp`, so
//! values and gradients differ from the composed form by rounding only (relative 1e-6).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{DType, Device, GradientCheckpointingStrategy, Tensor, TensorData, activation};
use rayon::prelude::*;

mod batch_norm;
pub use batch_norm::batch_norm;

/// Elements per parallel task, and the size below which one thread does it all.
const CHUNK: usize = 1 << 15;

/// Which implementation [`silu`] uses for a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// burn's composed `activation::silu`.
    Composed,
    /// The fused kernel on flex without autodiff.
    Flex,
    /// The fused kernel with its own backward step, on flex autodiff without checkpointing.
    AutodiffFlex,
}

fn route<const D: usize>(x: &Tensor<D>) -> Route {
    let device = x.device();
    if x.dtype() != DType::F32 || device != Device::flex() {
        Route::Composed
    } else if !device.is_autodiff() {
        Route::Flex
    } else if device.gradient_checkpointing_strategy()
        == Some(GradientCheckpointingStrategy::Disabled)
    {
        Route::AutodiffFlex
    } else {
        Route::Composed
    }
}

/// `t`, a per-channel or per-tensor factor (`[1|N, 1|C, 1, 1]`), made ready to broadcast over
/// a map of shape `dims` (`[N, C, H, W]`). Under autodiff the gradient of a broadcast operand
/// is one f32 reduction over every broadcast axis, up to N·H·W values: on EfficientDet's large
/// maps that sum drifts by 1e-5 relative and, where its terms cancel (batch-norm shifts,
/// squeeze-excite gates, BiFPN fusion weights), by percents, against effdet's exact gradient.
/// Repeating `t` along C and W first leaves that reduction N·H values, and each repeat's own
/// backward sums one axis. Outside autodiff `t` is returned as it is.
pub(crate) fn spread(t: Tensor<4>, dims: [usize; 4]) -> Tensor<4> {
    if !t.device().is_autodiff() {
        return t;
    }
    let mut t = t;
    for axis in [1, 3] {
        if t.dims()[axis] == 1 && dims[axis] > 1 {
            t = t.repeat_dim(axis, dims[axis]);
        }
    }
    t
}

/// `x · sigmoid(x)`, fused on flex (see the module documentation).
pub fn silu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    match route(&x) {
        Route::Composed => activation::silu(x),
        Route::Flex => {
            let p = x
                .try_into_primitive::<Flex>()
                .expect("an f32 tensor on flex is a Flex primitive");
            Tensor::from_primitive::<Flex>(silu_forward(p))
        }
        Route::AutodiffFlex => {
            let p = x
                .try_into_primitive::<Autodiff<Flex>>()
                .expect("an f32 tensor on flex autodiff is an Autodiff<Flex> primitive");
            Tensor::from_primitive::<Autodiff<Flex>>(silu_autodiff(p))
        }
    }
}

#[derive(Debug)]
struct SiluBackward;

impl Backward<Flex, 1> for SiluBackward {
    /// The input.
    type State = FlexTensor;

    fn backward(self, ops: Ops<FlexTensor, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let x = ops.state;
        unary::<Flex, _>(ops.parents, ops.node, grads, |grad| silu_grad(&x, grad));
    }
}

fn silu_autodiff(x: FloatTensor<Autodiff<Flex>>) -> FloatTensor<Autodiff<Flex>> {
    let guard = x.node();
    let input = x.into_primitive();
    match SiluBackward
        .prepare::<NoCheckpointing>([guard])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let out = silu_forward(input.clone());
            prep.finish(input, out)
        }
        OpsKind::UnTracked(prep) => prep.finish(silu_forward(input)),
    }
}

/// `e^x` for f32, branch-free so that the loops below vectorise: Cephes' `expf` (range
/// reduction by ln 2 in two parts, a degree-5 polynomial, the power of two put into the
/// exponent bits), within 2 ulp of `f32::exp` on its range (tested). Inputs are clamped to
/// [−87, 88], where the result is still a normal float; NaN stays NaN.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 · 2^23 rounds to the nearest integer (|v| < 2^22 here)
    // with plain additions, which every SIMD level has.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // n is an integer in [−126, 127], so the biased exponent is in [1, 254].
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
fn silu_in_place(x: &mut [f32]) {
    for v in x {
        *v *= sigmoid(*v);
    }
}

#[inline(always)]
fn silu_into(out: &mut [f32], x: &[f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = v * sigmoid(v);
    }
}

/// `g ← d silu(x)/dx · g`, as the composed form's two terms: `g·s + (g·x)·s·(1 − s)`.
#[inline(always)]
fn silu_grad_in_place(g: &mut [f32], x: &[f32]) {
    for (g, &x) in g.iter_mut().zip(x) {
        let s = sigmoid(x);
        *g = *g * s + (*g * x) * s * (1.0 - s);
    }
}

/// `f(out, x)` over matching chunks of the two slices, on the rayon pool when they are large.
fn zip_chunks(out: &mut [f32], x: &[f32], f: impl Fn(&mut [f32], &[f32]) + Sync) {
    if out.len() < 2 * CHUNK {
        f(out, x);
    } else {
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(|(o, x)| f(o, x));
    }
}

/// A contiguous f32 tensor starting at offset 0 (copied only when `t` is a strided view).
fn contiguous(t: FlexTensor) -> FlexTensor {
    let plain = t.is_contiguous() && t.layout().start_offset() == 0;
    if plain { t } else { t.to_contiguous() }
}

/// SiLU of `x`, in place when `x` is not shared.
fn silu_forward(x: FlexTensor) -> FlexTensor {
    let mut x = contiguous(x);
    let n = x.layout().num_elements();
    let shape = x.layout().shape().clone();
    if let Some(data) = x.try_storage_mut::<f32>() {
        let data = &mut data[..n];
        if n < 2 * CHUNK {
            silu_in_place(data);
        } else {
            data.par_chunks_mut(CHUNK).for_each(silu_in_place);
        }
        return x;
    }
    let mut out = vec![0f32; n];
    zip_chunks(&mut out, &x.storage::<f32>()[..n], silu_into);
    FlexTensor::from_data(TensorData::new(out, shape))
}

/// The gradient of SiLU at `x` times `grad`, written into `grad` (copied first if shared).
fn silu_grad(x: &FlexTensor, grad: FlexTensor) -> FlexTensor {
    let x = contiguous(x.clone());
    let mut grad = contiguous(grad);
    let n = x.layout().num_elements();
    assert_eq!(
        n,
        grad.layout().num_elements(),
        "SiLU gradient of another shape"
    );
    zip_chunks(
        &mut grad.storage_mut::<f32>()[..n],
        &x.storage::<f32>()[..n],
        silu_grad_in_place,
    );
    grad
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    fn gradient(
        device: &Device,
        fused: bool,
        x: &Tensor<4>,
        w: &Tensor<4>,
    ) -> (Vec<f32>, Vec<f32>) {
        let xa = Tensor::<4>::from_data(x.to_data(), device).require_grad();
        let wa = Tensor::<4>::from_data(w.to_data(), device);
        // A strided view on the way in, and a loss that weights every element differently.
        let v = xa.clone().permute([0, 2, 3, 1]);
        let y = if fused {
            assert_eq!(route(&v), Route::AutodiffFlex);
            silu(v)
        } else {
            activation::silu(v)
        };
        let out = values(y.clone());
        let loss = (y.permute([0, 3, 1, 2]) * wa).sum();
        let grads = loss.backward();
        (out, values(xa.grad(&grads).unwrap()))
    }

    #[test]
    fn fused_silu_matches_burns_composed_silu_forward_and_backward() {
        let plain = Device::flex();
        // Larger than two chunks, so the parallel path runs; with values far into both tails.
        let x = Tensor::<4>::random([2, 5, 90, 80], Distribution::Normal(0.0, 6.0), &plain);
        let w = Tensor::<4>::random([2, 5, 90, 80], Distribution::Uniform(-1.0, 1.0), &plain);
        let ad = Device::flex().autodiff();
        let (y_fused, g_fused) = gradient(&ad, true, &x, &w);
        let (y_ref, g_ref) = gradient(&ad, false, &x, &w);
        assert_close(&y_fused, &y_ref, 1e-6, 1e-30, "forward");
        // Gradients are O(1) here; near the derivative's zero (x ≈ −1.28) only an absolute
        // tolerance of about one ulp of 1 makes sense.
        assert_close(&g_fused, &g_ref, 1e-5, 1e-7, "gradient");
        // Without autodiff: the same values as with it.
        assert_eq!(route(&x), Route::Flex);
        assert_eq!(values(silu(x.clone().permute([0, 2, 3, 1]))), y_fused);
        // A small tensor takes the one-thread path; the tails and NaN.
        let xs = [-100f32, -87.5, -3.0, -0.0, 0.5, 40.0, 100.0, f32::NAN];
        let got = values(silu(Tensor::<1>::from_floats(xs, &plain)));
        let want: Vec<f32> = xs.iter().map(|&v| v / (1.0 + (-v).exp())).collect();
        assert_close(&got[..7], &want[..7], 1e-6, 1e-30, "small");
        assert!(got[7].is_nan());
    }

    fn assert_close(got: &[f32], want: &[f32], rel: f32, abs: f32, what: &str) {
        assert_eq!(got.len(), want.len());
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            let tol = rel * b.abs() + abs;
            assert!((a - b).abs() <= tol, "{what} [{i}]: {a} vs {b}");
        }
    }

    #[test]
    fn exp_is_within_two_ulp_of_the_standard_library() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x <= 88.0 {
            let (a, b) = (f64::from(exp(x)), f64::from(x.exp()));
            worst = worst.max((a - b).abs() / b);
            x += 0.000_37;
        }
        assert!(
            worst < 2.0 * f64::from(f32::EPSILON),
            "relative error {worst}"
        );
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(-1000.0) > 0.0 && exp(1000.0).is_finite());
    }

    #[test]
    fn a_tensor_used_twice_keeps_its_values() {
        // `silu` must not write into a buffer another tensor still reads.
        let x = Tensor::<1>::from_floats([1.0, -2.0, 3.0], &Device::flex());
        assert_eq!(route(&x), Route::Flex);
        let y = silu(x.clone());
        assert_eq!(values(x), vec![1.0, -2.0, 3.0]);
        assert!((values(y)[0] - 0.731_058_6).abs() < 1e-6);
    }

    #[test]
    fn other_float_types_and_checkpointing_use_the_composed_form() {
        let x = Tensor::<1>::from_floats([1.0, -2.0], &Device::flex());
        assert_eq!(route(&x.clone().cast(DType::F16)), Route::Composed);
        let balanced = Device::flex().autodiff().gradient_checkpointing();
        let xb = Tensor::<1>::from_floats([1.0, -2.0], &balanced);
        assert_eq!(route(&xb), Route::Composed);
        let y = values(silu(xb));
        assert!((y[0] - 0.731_058_6).abs() < 1e-6 && (y[1] + 0.238_405_84).abs() < 1e-6);
    }
}
