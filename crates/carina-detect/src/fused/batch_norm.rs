//! Batch norm in training mode, optionally followed by SiLU, as one operation on flex.
//!
//! burn's `batch_norm_train` is composed of backend operations: a transposed copy and a mean
//! for the batch mean, a subtraction, a product, another transposed copy and a mean for the
//! variance, then the normalisation (several element-wise passes); its backward takes about
//! a dozen more passes, each allocating and most on one core. EfficientDet puts a batch norm
//! after nearly every convolution, usually followed by SiLU.
//!
//! Here, over `[N, C, H, W]` activations split into planes on the rayon pool:
//! - forward: one pass for the per-channel sums (f64, shifted by a value of the channel to
//!   keep `E[x²] − E[x]²` exact enough), one pass writing `y = act(a·x + b)`;
//! - backward: one pass computing `dz = g · act'(a·x + b)` in place of `g` together with the
//!   per-channel sums `Σdz` and `Σdz·(x − μ)`, one pass writing `dx = k₁·dz + k₂·x + k₃`.
//!
//! The autodiff graph keeps only the input and four numbers per channel. The running
//! statistics are updated as PyTorch (and so effdet) does: `running = (1 − momentum)·running +
//! momentum·batch`, with the batch variance Bessel-corrected (`n / (n − 1)`); burn's own
//! `BatchNorm` keeps the biased one. Where the fused kernel does not apply in training (other
//! backends, gradient checkpointing) the same batch norm is composed of tensor operations
//! ([`composed_train`]), with its means taken one axis at a time.

use super::{Route, contiguous, route, sigmoid, spread};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};
use burn::nn::BatchNorm;
use burn::tensor::{DType, Tensor, TensorData};
use rayon::prelude::*;
use std::sync::Arc;

/// Elements handed to one rayon task at least (small planes are grouped).
const MIN_TASK: usize = 1 << 14;

/// `act(bn(x))` where `act` is SiLU (`silu = true`) or the identity; fused on flex autodiff
/// in training mode, burn's `BatchNorm::forward` (then [`super::silu`]) everywhere else.
pub fn batch_norm(bn: &BatchNorm, x: Tensor<4>, silu: bool) -> Tensor<4> {
    let training = x.device().is_autodiff() && bn.training.is_enabled();
    let fused = training
        && route(&x) == Route::AutodiffFlex
        && bn.gamma.val().dtype() == DType::F32
        && x.shape().num_elements() > 0;
    if !fused {
        let y = if training {
            composed_train(bn, x)
        } else {
            bn.forward(x)
        };
        return if silu { super::silu(y) } else { y };
    }
    let device = x.device();
    let channels = x.dims()[1];
    let prim = |t: Tensor<1>| {
        t.try_into_primitive::<Autodiff<Flex>>()
            .expect("an f32 tensor on flex autodiff is an Autodiff<Flex> primitive")
    };
    let (out, stats) = bn_autodiff(
        x.try_into_primitive::<Autodiff<Flex>>()
            .expect("an f32 tensor on flex autodiff is an Autodiff<Flex> primitive"),
        prim(bn.gamma.val()),
        prim(bn.beta.val()),
        bn.epsilon,
        silu,
    );
    let update = |running: &burn::module::RunningState<Tensor<1>>, batch: Vec<f32>| {
        let batch = Tensor::<1>::from_data(TensorData::new(batch, [channels]), &device);
        let value = running
            .value_sync()
            .to_device(&device)
            .mul_scalar(1.0 - bn.momentum)
            .add(batch.mul_scalar(bn.momentum));
        running.update(value.detach());
    };
    update(&bn.running_mean, stats.mean.clone());
    let k = bessel(stats.count);
    let var = stats.var.iter().map(|&v| (f64::from(v) * k) as f32);
    update(&bn.running_var, var.collect());
    Tensor::from_primitive::<Autodiff<Flex>>(out)
}

/// Bessel's correction `n / (n − 1)` for a variance over `count` values. PyTorch updates the
/// running variance with the corrected batch variance while normalising with the biased one,
/// and effdet's checkpoints are made that way; burn's `BatchNorm` keeps the biased one.
fn bessel(count: usize) -> f64 {
    if count > 1 {
        count as f64 / (count - 1) as f64
    } else {
        1.0
    }
}

/// Mean over the batch and both spatial axes, `[N, C, H, W]` → `[1, C, 1, 1]`, one axis at a
/// time: each sum covers at most one axis's length, so f32 rounding stays near that of
/// a pairwise sum (a single reduction over all `N·H·W` values drifts by about 1e-5 on
/// EfficientDet's large planes).
fn channel_mean(x: Tensor<4>) -> Tensor<4> {
    x.mean_dim(3).mean_dim(2).mean_dim(0)
}

/// Batch norm in training mode composed of tensor operations (any backend, autodiff
/// through the batch statistics), with the running statistics updated as PyTorch does.
fn composed_train(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let dims = x.dims();
    let [n, c, h, w] = dims;
    let mean = channel_mean(x.clone());
    let centered = x - spread(mean.clone(), dims);
    let var = channel_mean(centered.clone().square());
    let inv_std = var.clone().add_scalar(bn.epsilon).sqrt().recip();
    // One factor and one shift per channel, each spread over the map so that the reductions
    // of their gradients stay short (see `spread`).
    let scale = spread(inv_std * bn.gamma.val().reshape([1, c, 1, 1]), dims);
    let beta = spread(bn.beta.val().reshape([1, c, 1, 1]), dims);
    let y = centered * scale + beta;
    let update = |running: &burn::module::RunningState<Tensor<1>>, batch: Tensor<4>| {
        let device = batch.device();
        let value = running
            .value_sync()
            .to_device(&device)
            .mul_scalar(1.0 - bn.momentum)
            .add(batch.detach().reshape([c]).mul_scalar(bn.momentum));
        running.update(value.detach());
    };
    update(&bn.running_mean, mean);
    update(&bn.running_var, var.mul_scalar(bessel(n * h * w)));
    y
}

/// Per-channel values of one forward pass.
#[derive(Debug, Clone)]
struct Stats {
    mean: Vec<f32>,
    /// Biased batch variance.
    var: Vec<f32>,
    inv_std: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    /// Values per channel (`N·H·W`).
    count: usize,
}

impl Stats {
    /// `a, μ, β` of `z = a·(x − μ) + β` for channel `c`. Centring first, as PyTorch does,
    /// rather than `a·x + (β − a·μ)`, keeps `z` exact to f32 where `|μ|` dwarfs the spread.
    fn affine(&self, c: usize) -> (f32, f32, f32) {
        (self.gamma[c] * self.inv_std[c], self.mean[c], self.beta[c])
    }
}

#[derive(Debug)]
struct BatchNormBackward {
    silu: bool,
}

impl Backward<Flex, 3> for BatchNormBackward {
    /// The input and the forward's statistics.
    type State = (FlexTensor, Arc<Stats>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, stats) = ops.state;
        let (dx, dgamma, dbeta) = backward(&x, grad, &stats, self.silu);
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, dx);
        }
        let channels = stats.mean.len();
        if let Some(node) = node_gamma {
            grads.register::<Flex>(
                node.id,
                FlexTensor::from_data(TensorData::new(dgamma, [channels])),
            );
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(
                node.id,
                FlexTensor::from_data(TensorData::new(dbeta, [channels])),
            );
        }
    }
}

fn bn_autodiff(
    x: FloatTensor<Autodiff<Flex>>,
    gamma: FloatTensor<Autodiff<Flex>>,
    beta: FloatTensor<Autodiff<Flex>>,
    epsilon: f64,
    silu: bool,
) -> (FloatTensor<Autodiff<Flex>>, Arc<Stats>) {
    let guards = [x.node(), gamma.node(), beta.node()];
    let x = contiguous(x.into_primitive());
    let channels = dims(&x).1;
    let values = |t: FlexTensor| contiguous(t).storage::<f32>()[..channels].to_vec();
    let (gamma, beta) = (
        values(gamma.into_primitive()),
        values(beta.into_primitive()),
    );
    let stats = Arc::new(statistics(&x, gamma, beta, epsilon));
    let out = forward(&x, &stats, silu);
    let op = BatchNormBackward { silu };
    let out = match op
        .prepare::<NoCheckpointing>(guards)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((x, stats.clone()), out),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    (out, stats)
}

/// `[N, C, plane]` of a 4-d tensor.
fn dims(x: &FlexTensor) -> (usize, usize, usize) {
    let s = x.layout().shape();
    assert_eq!(s.num_dims(), 4, "batch norm over [N, C, H, W]");
    (s[0], s[1], s[2] * s[3])
}

/// Planes per rayon task, so that each task has at least [`MIN_TASK`] elements.
fn planes_per_task(plane: usize) -> usize {
    (MIN_TASK / plane.max(1)).max(1)
}

/// `(Σ(u − u₀), Σ(u − u₀)·(w − w₀))` over matching `us` and `ws`, in f64, eight lanes at a
/// time (vectorisable). With `ws = us` and `w₀ = u₀` the second sum is `Σ(u − u₀)²`.
#[inline(always)]
fn paired_sums(us: &[f32], u0: f32, ws: &[f32], w0: f32) -> (f64, f64) {
    let mut s = [0f64; 8];
    let mut sw = [0f64; 8];
    let mut uc = us.chunks_exact(8);
    let mut wc = ws.chunks_exact(8);
    for (u8, w8) in (&mut uc).zip(&mut wc) {
        for i in 0..8 {
            let d = f64::from(u8[i] - u0);
            s[i] += d;
            sw[i] += d * f64::from(w8[i] - w0);
        }
    }
    let (mut a, mut b) = (s.iter().sum::<f64>(), sw.iter().sum::<f64>());
    for (&u, &w) in uc.remainder().iter().zip(wc.remainder()) {
        let d = f64::from(u - u0);
        a += d;
        b += d * f64::from(w - w0);
    }
    (a, b)
}

/// Per-channel totals of per-plane sums (planes in `[N, C]` order).
fn channel_totals(partial: &[(f64, f64)], n: usize, c: usize) -> Vec<(f64, f64)> {
    (0..c)
        .map(|ch| {
            (0..n)
                .map(|b| partial[b * c + ch])
                .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y))
        })
        .collect()
}

/// The batch statistics of `x` (contiguous `[N, C, H, W]`).
fn statistics(x: &FlexTensor, gamma: Vec<f32>, beta: Vec<f32>, epsilon: f64) -> Stats {
    let (n, c, plane) = dims(x);
    let data = &x.storage::<f32>()[..n * c * plane];
    // A value of each channel: sums of x − shift lose nothing to a large common offset.
    let shift: Vec<f32> = (0..c).map(|ch| data[ch * plane]).collect();
    let partial: Vec<(f64, f64)> = data
        .par_chunks(plane)
        .with_min_len(planes_per_task(plane))
        .enumerate()
        .map(|(i, xs)| {
            let shift = shift[i % c];
            paired_sums(xs, shift, xs, shift)
        })
        .collect();
    let count = (n * plane) as f64;
    let (mut mean, mut var, mut inv_std) = (vec![0f32; c], vec![0f32; c], vec![0f32; c]);
    for (ch, (s, s2)) in channel_totals(&partial, n, c).into_iter().enumerate() {
        let m = s / count;
        let v = (s2 / count - m * m).max(0.0);
        mean[ch] = (f64::from(shift[ch]) + m) as f32;
        var[ch] = v as f32;
        inv_std[ch] = (1.0 / (v + epsilon).sqrt()) as f32;
    }
    Stats {
        mean,
        var,
        inv_std,
        gamma,
        beta,
        count: n * plane,
    }
}

/// `act(a·(x − μ) + β)` per channel, into a new tensor.
fn forward(x: &FlexTensor, stats: &Stats, silu: bool) -> FlexTensor {
    let (n, c, plane) = dims(x);
    let shape = x.layout().shape().clone();
    let data = &x.storage::<f32>()[..n * c * plane];
    let mut out = vec![0f32; data.len()];
    out.par_chunks_mut(plane)
        .zip(data.par_chunks(plane))
        .with_min_len(planes_per_task(plane))
        .enumerate()
        .for_each(|(i, (o, xs))| {
            let (a, mu, b) = stats.affine(i % c);
            if silu {
                for (o, &v) in o.iter_mut().zip(xs) {
                    let z = a * (v - mu) + b;
                    *o = z * sigmoid(z);
                }
            } else {
                for (o, &v) in o.iter_mut().zip(xs) {
                    *o = a * (v - mu) + b;
                }
            }
        });
    FlexTensor::from_data(TensorData::new(out, shape))
}

/// `dz ← g · act'(a·(x − μ) + b)` in place, returning `(Σdz, Σdz·(x − μ))` over the plane.
#[inline(always)]
fn grad_pre_activation(
    g: &mut [f32],
    xs: &[f32],
    a: f32,
    mu: f32,
    b: f32,
    silu: bool,
) -> (f64, f64) {
    if silu {
        for (g, &v) in g.iter_mut().zip(xs) {
            let z = a * (v - mu) + b;
            let s = sigmoid(z);
            // As the fused SiLU's gradient: g·s + (g·z)·s·(1 − s).
            *g = *g * s + (*g * z) * s * (1.0 - s);
        }
    }
    paired_sums(g, 0.0, xs, mu)
}

/// Gradients with respect to the input, gamma and beta, given the output's gradient.
fn backward(
    x: &FlexTensor,
    grad: FlexTensor,
    stats: &Stats,
    silu: bool,
) -> (FlexTensor, Vec<f32>, Vec<f32>) {
    let (n, c, plane) = dims(x);
    let len = n * c * plane;
    let mut grad = contiguous(grad);
    assert_eq!(
        grad.layout().num_elements(),
        len,
        "batch norm gradient of another shape"
    );
    let xs = &x.storage::<f32>()[..len];
    // Sums of dz·(x − μ) are taken as dz·(x − shift) with the shift the channel's mean, which
    // is exact: μ is what the forward used.
    let partial: Vec<(f64, f64)> = grad.storage_mut::<f32>()[..len]
        .par_chunks_mut(plane)
        .zip(xs.par_chunks(plane))
        .with_min_len(planes_per_task(plane))
        .enumerate()
        .map(|(i, (g, xp))| {
            let (a, mu, b) = stats.affine(i % c);
            grad_pre_activation(g, xp, a, mu, b, silu)
        })
        .collect();
    let count = (n * plane) as f64;
    let mut dgamma = vec![0f32; c];
    let mut dbeta = vec![0f32; c];
    // dx = k1·dz + k2·(x − μ) + k3 per channel (centred, as in the forward).
    let mut coef = vec![(0f32, 0f32, 0f32, 0f32); c];
    for (ch, (sg, sgx)) in channel_totals(&partial, n, c).into_iter().enumerate() {
        let s = f64::from(stats.inv_std[ch]);
        let gamma = f64::from(stats.gamma[ch]);
        dbeta[ch] = sg as f32;
        dgamma[ch] = (sgx * s) as f32;
        let k1 = gamma * s;
        let k2 = -gamma * s * s * s * sgx / count;
        let k3 = -k1 * sg / count;
        coef[ch] = (k1 as f32, k2 as f32, k3 as f32, stats.mean[ch]);
    }
    grad.storage_mut::<f32>()[..len]
        .par_chunks_mut(plane)
        .zip(xs.par_chunks(plane))
        .with_min_len(planes_per_task(plane))
        .enumerate()
        .for_each(|(i, (g, xp))| {
            let (k1, k2, k3, mu) = coef[i % c];
            for (g, &v) in g.iter_mut().zip(xp) {
                *g = k1 * *g + k2 * (v - mu) + k3;
            }
        });
    (grad, dgamma, dbeta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::{Module, Param};
    use burn::nn::BatchNormConfig;
    use burn::tensor::{Device, Distribution, activation};

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    fn assert_close(got: &[f32], want: &[f32], rel: f32, abs: f32, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            let tol = rel * b.abs() + abs;
            assert!((a - b).abs() <= tol, "{what} [{i}]: {a} vs {b}");
        }
    }

    struct Run {
        out: Vec<f32>,
        dx: Vec<f32>,
        dgamma: Vec<f32>,
        dbeta: Vec<f32>,
        running_mean: Vec<f32>,
        running_var: Vec<f32>,
    }

    /// Which batch norm [`run`] takes.
    #[derive(Clone, Copy, PartialEq)]
    enum Path {
        /// [`batch_norm`] on flex autodiff: the fused kernel.
        Fused,
        /// [`batch_norm`] under gradient checkpointing: [`composed_train`].
        Composed,
        /// burn's `BatchNorm::forward` (biased running variance).
        Burn,
    }

    /// One forward and backward through a batch norm whose gamma and beta are not 1 and 0,
    /// on a strided view, with a loss that weights every output differently.
    fn run(
        path: Path,
        silu: bool,
        x: &Tensor<4>,
        w: &Tensor<4>,
        g0: &Tensor<1>,
        b0: &Tensor<1>,
    ) -> Run {
        let device = match path {
            Path::Composed => Device::flex().autodiff().gradient_checkpointing(),
            _ => Device::flex().autodiff(),
        };
        let c = x.dims()[1];
        let mut bn = BatchNormConfig::new(c)
            .with_epsilon(1e-3)
            .with_momentum(0.1)
            .init(&device);
        bn.gamma = Param::from_tensor(Tensor::from_data(g0.to_data(), &device));
        bn.beta = Param::from_tensor(Tensor::from_data(b0.to_data(), &device));
        let xa = Tensor::<4>::from_data(x.to_data(), &device).require_grad();
        let v = xa.clone().permute([0, 1, 3, 2]);
        let y = if path == Path::Fused {
            assert_eq!(route(&v), Route::AutodiffFlex, "the fused path is taken");
            batch_norm(&bn, v, silu)
        } else if path == Path::Composed {
            assert_eq!(route(&v), Route::Composed, "the composed path is taken");
            batch_norm(&bn, v, silu)
        } else {
            let y = bn.forward(v);
            if silu { activation::silu(y) } else { y }
        };
        let out = values(y.clone());
        let wa = Tensor::<4>::from_data(w.to_data(), &device);
        let grads = (y.permute([0, 1, 3, 2]) * wa).sum().backward();
        Run {
            out,
            dx: values(xa.grad(&grads).unwrap()),
            dgamma: values(bn.gamma.val().grad(&grads).unwrap()),
            dbeta: values(bn.beta.val().grad(&grads).unwrap()),
            running_mean: values(bn.running_mean.value_sync()),
            running_var: values(bn.running_var.value_sync()),
        }
    }

    fn compare(shape: [usize; 4], silu: bool) {
        let plain = Device::flex();
        // An offset far from zero: the shifted sums must not lose the variance to it.
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 2.0), &plain).add_scalar(30.0);
        let w = Tensor::<4>::random(shape, Distribution::Uniform(-1.0, 1.0), &plain);
        let g0 = Tensor::<1>::random([shape[1]], Distribution::Uniform(0.5, 1.5), &plain);
        let b0 = Tensor::<1>::random([shape[1]], Distribution::Uniform(-0.5, 0.5), &plain);
        let f = run(Path::Fused, silu, &x, &w, &g0, &b0);
        let r = run(Path::Burn, silu, &x, &w, &g0, &b0);
        let composed = run(Path::Composed, silu, &x, &w, &g0, &b0);
        // burn keeps the biased batch variance, `(1 − m)·1 + m·v`; PyTorch's (ours) is
        // `(1 − m)·1 + m·v·n/(n − 1)`.
        let (m, n) = (0.1f32, (shape[0] * shape[2] * shape[3]) as f32);
        let corrected: Vec<f32> = r
            .running_var
            .iter()
            .map(|r| (1.0 - m) + (r - (1.0 - m)) * n / (n - 1.0))
            .collect();
        for (got, what) in [(&f, "fused"), (&composed, "composed")] {
            assert_close(&got.out, &r.out, 1e-4, 1e-5, &format!("{what}: output"));
            let mean = &got.running_mean;
            assert_close(
                mean,
                &r.running_mean,
                1e-5,
                1e-6,
                &format!("{what}: running mean"),
            );
            let var = &got.running_var;
            assert_close(var, &corrected, 1e-4, 1e-6, &format!("{what}: running var"));
            assert_close(&got.dbeta, &r.dbeta, 1e-4, 1e-3, &format!("{what}: d beta"));
            assert_close(
                &got.dgamma,
                &r.dgamma,
                1e-3,
                1e-3,
                &format!("{what}: d gamma"),
            );
            let scale = r.dx.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert_close(&got.dx, &r.dx, 1e-3, 1e-4 * scale, &format!("{what}: d x"));
        }
    }

    #[test]
    fn fused_and_composed_batch_norm_match_burns_with_pytorchs_running_variance() {
        // Large planes (the parallel path) and tiny ones (grouped into tasks), with and
        // without SiLU after the normalisation.
        compare([2, 3, 70, 90], false);
        compare([2, 3, 70, 90], true);
        compare([3, 40, 4, 4], true);
        compare([1, 5, 3, 7], false);
    }

    #[test]
    fn inference_and_frozen_layers_use_burns_batch_norm() {
        let device = Device::flex().autodiff();
        let bn = BatchNormConfig::new(2).init(&device);
        let x = Tensor::<4>::random([1, 2, 3, 3], Distribution::Normal(1.0, 1.0), &device);
        // A layer with training disabled takes burn's inference path: the running
        // statistics (0 and 1) normalise, nothing is updated.
        let frozen = bn.clone().freeze();
        let y = values(batch_norm(&frozen, x.clone(), false));
        let want: Vec<f32> = values(x.clone())
            .iter()
            .map(|v| v / (1.0f32 + 1e-5).sqrt())
            .collect();
        assert_close(&y, &want, 1e-6, 1e-6, "frozen");
        assert_eq!(values(frozen.running_mean.value()), vec![0.0, 0.0]);
        // On the plain device too: burn's batch norm, then SiLU.
        let plain = bn.valid();
        let y = values(batch_norm(&plain, x.clone().inner(), true));
        let want = values(activation::silu(plain.forward(x.inner())));
        assert_close(&y, &want, 1e-6, 1e-7, "plain device");
    }
}
