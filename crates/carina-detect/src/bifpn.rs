//! The BiFPN: extra pyramid levels from the backbone's last map, then repeated cells of
//! top-down and bottom-up fusion nodes (effdet's `BiFpn`, `BiFpnLayer`, `FpnCombine`).

use burn::module::Param;
use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::activation::{relu, softmax};

use crate::config::{Activation, EfficientDetConfig, FpnFusion};
use crate::layers::{
    ConvSpec, Init, SeparableConv, act, batch_norm, bn_act, max_pool_same, resize_nearest, spread,
};

/// Brings one feature map to the fusion node's channels (1×1 conv + batch norm, only when the
/// channel counts differ) and size (max pool down, nearest up).
#[derive(Module, Debug)]
pub struct Resample {
    pub conv: Option<Conv2d>,
    pub bn: Option<BatchNorm>,
}

impl Resample {
    fn new(in_ch: usize, cfg: &EfficientDetConfig, device: &Device) -> Self {
        if in_ch == cfg.fpn_channels {
            return Self {
                conv: None,
                bn: None,
            };
        }
        Self {
            conv: Some(
                ConvSpec::new(in_ch, cfg.fpn_channels, 1, Init::Glorot)
                    .bias(!cfg.apply_resample_bn || cfg.redundant_bias)
                    .init(device),
            ),
            bn: cfg
                .apply_resample_bn
                .then(|| batch_norm(cfg.fpn_channels, cfg.bn_eps, cfg.bn_momentum, device)),
        }
    }

    fn forward(&self, mut x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
        if let Some(conv) = &self.conv {
            x = conv.forward(x);
        }
        if let Some(bn) = &self.bn {
            x = bn_act(bn, x, None);
        }
        let [_, _, h, w] = x.dims();
        if h > size[0] && w > size[1] {
            // effdet: stride = ceil(in / out), kernel = stride + 1, TF "same" padding.
            let stride = (h - 1) / size[0] + 1;
            max_pool_same(x, stride + 1, stride)
        } else if h < size[0] || w < size[1] {
            resize_nearest(x, size)
        } else {
            x
        }
    }
}

/// One fusion node: resample each input, fuse, activation, separable conv + batch norm.
#[derive(Module, Debug)]
pub struct FpnNode {
    /// Indices into the cell's growing list of maps (levels first, then earlier nodes).
    pub inputs: Vec<usize>,
    /// Pyramid level index (0 = P3) whose size the node produces.
    pub level: usize,
    pub resample: Vec<Resample>,
    pub edge_weights: Option<Param<Tensor<1>>>,
    pub conv: SeparableConv,
    #[module(skip)]
    pub fusion: FpnFusion,
    #[module(skip)]
    pub act: Activation,
}

impl FpnNode {
    fn forward(&self, maps: &[Tensor<4>]) -> Tensor<4> {
        let [_, _, h, w] = maps[self.level].dims();
        let nodes: Vec<Tensor<4>> = self
            .inputs
            .iter()
            .zip(&self.resample)
            .map(|(&i, r)| r.forward(maps[i].clone(), [h, w]))
            .collect();
        let fused = match (&self.edge_weights, self.fusion) {
            (Some(weights), FpnFusion::FastAttn) => {
                let weights = relu(weights.val());
                let denom = weights
                    .clone()
                    .sum_dim(0)
                    .add_scalar(1e-4)
                    .reshape([1, 1, 1, 1]);
                sum_weighted(nodes, &weights, Some(denom))
            }
            (Some(weights), FpnFusion::Attn) => {
                sum_weighted(nodes, &softmax(weights.val(), 0), None)
            }
            _ => nodes
                .into_iter()
                .reduce(|a, b| a + b)
                .expect("a node has inputs"),
        };
        self.conv.forward(act(fused, self.act))
    }
}

/// `sum_i x_i * w_i [/ denom]`, in effdet's order of operations. The factors are spread over
/// each map first (see [`spread`]) so that their gradients stay exact to f32.
fn sum_weighted(nodes: Vec<Tensor<4>>, weights: &Tensor<1>, denom: Option<Tensor<4>>) -> Tensor<4> {
    nodes
        .into_iter()
        .enumerate()
        .map(|(i, x)| {
            let dims = x.dims();
            // burn's `slice` takes one range per dimension: this is not a Vec of a range.
            #[allow(clippy::single_range_in_vec_init)]
            let wi = weights.clone().slice([i..i + 1]).reshape([1, 1, 1, 1]);
            let x = x * spread(wi, dims);
            match &denom {
                Some(d) => x / spread(d.clone(), dims),
                None => x,
            }
        })
        .reduce(|a, b| a + b)
        .expect("a node has inputs")
}

/// One BiFPN cell (effdet's `BiFpnLayer`).
#[derive(Module, Debug)]
pub struct BiFpnCell {
    pub fnode: Vec<FpnNode>,
}

impl BiFpnCell {
    fn forward(&self, mut maps: Vec<Tensor<4>>, num_levels: usize) -> Vec<Tensor<4>> {
        for node in &self.fnode {
            let out = node.forward(&maps);
            maps.push(out);
        }
        maps.split_off(maps.len() - num_levels)
    }
}

/// The node layout of effdet's `bifpn_config`: (level, input offsets) per node.
pub(crate) fn bifpn_nodes(num_levels: usize) -> Vec<(usize, Vec<usize>)> {
    let mut ids: Vec<Vec<usize>> = (0..num_levels).map(|i| vec![i]).collect();
    let mut next = num_levels;
    let mut nodes = Vec::new();
    // Top-down: each level from its own map and the (new) one above.
    for level in (0..num_levels - 1).rev() {
        let inputs = vec![
            *ids[level].last().expect("id"),
            *ids[level + 1].last().expect("id"),
        ];
        nodes.push((level, inputs));
        ids[level].push(next);
        next += 1;
    }
    // Bottom-up: every map of the level so far plus the new one below.
    for level in 1..num_levels {
        let mut inputs = ids[level].clone();
        inputs.push(*ids[level - 1].last().expect("id"));
        nodes.push((level, inputs));
        ids[level].push(next);
        next += 1;
    }
    nodes
}

/// Extra levels plus the repeated cells.
#[derive(Module, Debug)]
pub struct BiFpn {
    /// Resampling that makes P6, P7, ... from the previous top level.
    pub resample: Vec<Resample>,
    pub cell: Vec<BiFpnCell>,
}

impl BiFpn {
    pub fn new(cfg: &EfficientDetConfig, feature_channels: &[usize], device: &Device) -> Self {
        let num_levels = cfg.num_levels();
        let mut channels: Vec<usize> = feature_channels.to_vec();
        let mut resample = Vec::new();
        while channels.len() < num_levels {
            let last = *channels.last().expect("backbone gives features");
            resample.push(Resample::new(last, cfg, device));
            channels.push(cfg.fpn_channels);
        }
        let layout = bifpn_nodes(num_levels);
        let cell = (0..cfg.fpn_cell_repeats)
            .map(|rep| {
                let fnode = layout
                    .iter()
                    .map(|(level, inputs)| {
                        let in_ch = |i: usize| {
                            // Only the first cell sees backbone maps with other channel counts.
                            if rep == 0 && i < channels.len() {
                                channels[i]
                            } else {
                                cfg.fpn_channels
                            }
                        };
                        FpnNode {
                            inputs: inputs.clone(),
                            level: *level,
                            resample: inputs
                                .iter()
                                .map(|&i| Resample::new(in_ch(i), cfg, device))
                                .collect(),
                            edge_weights: (cfg.fusion != FpnFusion::Sum)
                                .then(|| Param::from_tensor(Tensor::ones([inputs.len()], device))),
                            conv: SeparableConv::new(
                                cfg.fpn_channels,
                                cfg.fpn_channels,
                                cfg.redundant_bias,
                                Some((cfg.bn_eps, cfg.bn_momentum)),
                                Init::Glorot,
                                device,
                            ),
                            fusion: cfg.fusion,
                            act: cfg.act,
                        }
                    })
                    .collect();
                BiFpnCell { fnode }
            })
            .collect();
        Self { resample, cell }
    }

    /// Backbone features (P3..P5) in, `num_levels` fused maps (P3..P7) out.
    pub fn forward(&self, mut maps: Vec<Tensor<4>>) -> Vec<Tensor<4>> {
        for r in &self.resample {
            let [_, _, h, w] = maps.last().expect("features").dims();
            let size = [(h - 1) / 2 + 1, (w - 1) / 2 + 1];
            let next = r.forward(maps.last().expect("features").clone(), size);
            maps.push(next);
        }
        let num_levels = maps.len();
        for cell in &self.cell {
            maps = cell.forward(maps, num_levels);
        }
        maps
    }
}

#[cfg(test)]
mod tests {
    use super::bifpn_nodes;

    #[test]
    fn node_layout_matches_effdet() {
        let nodes = bifpn_nodes(5);
        let expected: Vec<(usize, Vec<usize>)> = vec![
            (3, vec![3, 4]),
            (2, vec![2, 5]),
            (1, vec![1, 6]),
            (0, vec![0, 7]),
            (1, vec![1, 7, 8]),
            (2, vec![2, 6, 9]),
            (3, vec![3, 5, 10]),
            (4, vec![4, 11]),
        ];
        assert_eq!(nodes, expected);
    }
}
