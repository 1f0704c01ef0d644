//! burn's 2-D convolution gradients (flex autodiff, TF "same" padding as carina-detect
//! configures it) against a direct f64 computation.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Device, Distribution, Tensor};

fn vec4(t: Tensor<4>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

/// `(dx, dw)` of `Σ r ⊙ conv(x, w)` computed directly.
#[allow(clippy::too_many_arguments)]
fn reference(
    x: &[f32],
    w: &[f32],
    r: &[f32],
    [n, c, h, wd]: [usize; 4],
    out_ch: usize,
    groups: usize,
    k: usize,
    s: usize,
) -> (Vec<f64>, Vec<f64>) {
    let (oh, ow) = (h.div_ceil(s), wd.div_ceil(s));
    let pad = |i: usize, o: usize| (((o - 1) * s + k).saturating_sub(i)) / 2;
    let (pt, pl) = (pad(h, oh), pad(wd, ow));
    let cin_g = c / groups;
    let cout_g = out_ch / groups;
    let mut dx = vec![0f64; x.len()];
    let mut dw = vec![0f64; w.len()];
    for b in 0..n {
        for o in 0..out_ch {
            let g = o / cout_g;
            for oy in 0..oh {
                for ox in 0..ow {
                    let rv = f64::from(r[((b * out_ch + o) * oh + oy) * ow + ox]);
                    for ci in 0..cin_g {
                        let ch = g * cin_g + ci;
                        for ky in 0..k {
                            for kx in 0..k {
                                let y = (oy * s + ky) as isize - pt as isize;
                                let xx = (ox * s + kx) as isize - pl as isize;
                                if y < 0 || xx < 0 || y >= h as isize || xx >= wd as isize {
                                    continue;
                                }
                                let xi = ((b * c + ch) * h + y as usize) * wd + xx as usize;
                                let wi = ((o * cin_g + ci) * k + ky) * k + kx;
                                dx[xi] += f64::from(w[wi]) * rv;
                                dw[wi] += f64::from(x[xi]) * rv;
                            }
                        }
                    }
                }
            }
        }
    }
    (dx, dw)
}

fn check(c: usize, out_ch: usize, groups: usize, k: usize, s: usize, hw: usize) {
    let device = Device::flex().autodiff();
    let conv = Conv2dConfig::new([c, out_ch], [k, k])
        .with_stride([s, s])
        .with_padding(PaddingConfig2d::Same)
        .with_groups(groups)
        .with_bias(false)
        .init(&device);
    let shape = [2, c, hw, hw];
    let x: Tensor<4> =
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), &device).require_grad();
    let out = conv.forward(x.clone());
    let r: Tensor<4> = Tensor::random(out.dims(), Distribution::Normal(0.0, 1.0), &device);
    let grads = (out * r.clone()).sum().backward();
    let dx = vec4(x.grad(&grads).unwrap());
    let dw = vec4(conv.weight.grad(&grads).unwrap());
    let (wx, ww) = reference(
        &vec4(x.detach()),
        &vec4(conv.weight.val().detach()),
        &vec4(r),
        shape,
        out_ch,
        groups,
        k,
        s,
    );
    let worst = |a: &[f32], b: &[f64]| {
        let scale = b.iter().fold(0f64, |m, v| m.max(v.abs()));
        a.iter()
            .zip(b)
            .map(|(a, b)| (f64::from(*a) - b).abs())
            .fold(0f64, f64::max)
            / scale
    };
    let (ex, ew) = (worst(&dx, &wx), worst(&dw, &ww));
    eprintln!("CONV c{c} o{out_ch} g{groups} k{k} s{s} hw{hw}: dx {ex:.2e} dw {ew:.2e}");
    assert!(
        ex < 1e-5 && ew < 1e-5,
        "c{c} o{out_ch} g{groups} k{k} s{s} hw{hw}: dx {ex:.2e} dw {ew:.2e}"
    );
}

#[test]
fn conv_gradients_are_exact() {
    for &(c, o, g, k, s, hw) in &[
        (4, 4, 4, 3, 1, 10),
        (4, 4, 4, 3, 2, 10),
        (4, 4, 4, 5, 2, 10),
        (4, 4, 4, 5, 1, 11),
        (4, 4, 4, 3, 2, 11),
        (3, 8, 1, 3, 2, 16),
        (6, 5, 1, 1, 1, 7),
    ] {
        check(c, o, g, k, s, hw);
    }
}

/// Max pool with TF "same" padding pairs and nearest resize, as carina-detect's BiFPN uses
/// them: gradients against a direct computation.
#[test]
fn pool_and_resize_gradients_are_exact() {
    use burn::tensor::module::{interpolate, max_pool2d};
    use burn::tensor::ops::{InterpolateMode, InterpolateOptions, MaxPoolOptions};
    let device = Device::flex().autodiff();
    for &(hw, out) in &[(10usize, 5usize), (5, 3), (8, 4), (3, 5), (4, 8), (5, 10)] {
        let x: Tensor<4> =
            Tensor::random([2, 3, hw, hw], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let xs = vec4(x.clone().detach());
        let (y, pooling) = if out < hw {
            let total = ((out - 1) * 2 + 3).saturating_sub(hw);
            let pad = (total / 2, total - total / 2);
            let y = max_pool2d(
                x.clone(),
                MaxPoolOptions::new([3, 3])
                    .with_stride([2, 2])
                    .with_padding_pairs([pad, pad]),
            );
            (y, Some(pad.0))
        } else {
            let y = interpolate(
                x.clone(),
                InterpolateOptions::new(InterpolateMode::Nearest)
                    .with_align_corners(false)
                    .with_output_size([out, out]),
            );
            (y, None)
        };
        assert_eq!(y.dims(), [2, 3, out, out]);
        let r: Tensor<4> = Tensor::random(y.dims(), Distribution::Normal(0.0, 1.0), &device);
        let rs = vec4(r.clone());
        let ys = vec4(y.clone().detach());
        let dx = vec4(x.grad(&(y * r).sum().backward()).unwrap());
        let mut want = vec![0f64; xs.len()];
        let mut want_y = vec![0f32; ys.len()];
        for p in 0..6 {
            for oy in 0..out {
                for ox in 0..out {
                    let src = match pooling {
                        Some(before) => {
                            // First maximum in row-major order among the real inputs.
                            let mut best: Option<(usize, f32)> = None;
                            for ky in 0..3 {
                                for kx in 0..3 {
                                    let (iy, ix) = (
                                        (oy * 2 + ky) as isize - before as isize,
                                        (ox * 2 + kx) as isize - before as isize,
                                    );
                                    if iy < 0 || ix < 0 || iy >= hw as isize || ix >= hw as isize {
                                        continue;
                                    }
                                    let i = (p * hw + iy as usize) * hw + ix as usize;
                                    if best.is_none_or(|(_, v)| xs[i] > v) {
                                        best = Some((i, xs[i]));
                                    }
                                }
                            }
                            best.unwrap().0
                        }
                        None => (p * hw + oy * hw / out) * hw + ox * hw / out,
                    };
                    let o = (p * out + oy) * out + ox;
                    want[src] += f64::from(rs[o]);
                    want_y[o] = xs[src];
                }
            }
        }
        assert_eq!(ys, want_y, "{hw} → {out}: values");
        let worst = dx
            .iter()
            .zip(&want)
            .map(|(a, b)| (f64::from(*a) - b).abs())
            .fold(0f64, f64::max);
        eprintln!("POOL {hw} -> {out}: {worst:e}");
        assert!(worst < 1e-5, "{hw} → {out}: gradient off by {worst:e}");
    }
}
