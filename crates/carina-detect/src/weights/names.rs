//! The one place that says which effdet tensor name belongs to which parameter.
//!
//! Loading, saving and the backbone-import mapping all walk the model through
//! [`walk_model`], so the names cannot drift apart between them.

use burn::module::{Param, RunningState};
use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::prelude::*;

use crate::backbone::{EfficientNet, MbBlock};
use crate::bifpn::{BiFpn, Resample};
use crate::head::HeadNet;
use crate::layers::SeparableConv;
use crate::model::EfficientDet;

/// A parameter or buffer of the model, reachable by name.
pub(crate) enum Slot<'a> {
    Param4(&'a mut Param<Tensor<4>>),
    Param1(&'a mut Param<Tensor<1>>),
    Buffer1(&'a mut RunningState<Tensor<1>>),
}

pub(crate) trait Visitor {
    fn visit(&mut self, name: &str, slot: Slot<'_>);
}

fn conv(v: &mut dyn Visitor, prefix: &str, c: &mut Conv2d) {
    v.visit(&format!("{prefix}.weight"), Slot::Param4(&mut c.weight));
    if let Some(bias) = &mut c.bias {
        v.visit(&format!("{prefix}.bias"), Slot::Param1(bias));
    }
}

fn bn(v: &mut dyn Visitor, prefix: &str, b: &mut BatchNorm) {
    v.visit(&format!("{prefix}.weight"), Slot::Param1(&mut b.gamma));
    v.visit(&format!("{prefix}.bias"), Slot::Param1(&mut b.beta));
    v.visit(
        &format!("{prefix}.running_mean"),
        Slot::Buffer1(&mut b.running_mean),
    );
    v.visit(
        &format!("{prefix}.running_var"),
        Slot::Buffer1(&mut b.running_var),
    );
}

fn separable(v: &mut dyn Visitor, prefix: &str, s: &mut SeparableConv) {
    conv(v, &format!("{prefix}.conv_dw"), &mut s.conv_dw);
    conv(v, &format!("{prefix}.conv_pw"), &mut s.conv_pw);
    if let Some(b) = &mut s.bn {
        bn(v, &format!("{prefix}.bn"), b);
    }
}

fn block(v: &mut dyn Visitor, p: &str, b: &mut MbBlock) {
    let se = |v: &mut dyn Visitor, b: &mut MbBlock| {
        if let Some(se) = &mut b.se {
            conv(v, &format!("{p}.se.conv_reduce"), &mut se.conv_reduce);
            conv(v, &format!("{p}.se.conv_expand"), &mut se.conv_expand);
        }
    };
    match (&mut b.expand, &mut b.expand_bn) {
        // timm's InvertedResidual: conv_pw, bn1, conv_dw, bn2, se, conv_pwl, bn3.
        (Some(expand), Some(expand_bn)) => {
            conv(v, &format!("{p}.conv_pw"), expand);
            bn(v, &format!("{p}.bn1"), expand_bn);
            conv(v, &format!("{p}.conv_dw"), &mut b.conv_dw);
            bn(v, &format!("{p}.bn2"), &mut b.dw_bn);
            se(v, b);
            conv(v, &format!("{p}.conv_pwl"), &mut b.project);
            bn(v, &format!("{p}.bn3"), &mut b.project_bn);
        }
        // timm's DepthwiseSeparableConv: conv_dw, bn1, se, conv_pw, bn2.
        _ => {
            conv(v, &format!("{p}.conv_dw"), &mut b.conv_dw);
            bn(v, &format!("{p}.bn1"), &mut b.dw_bn);
            se(v, b);
            conv(v, &format!("{p}.conv_pw"), &mut b.project);
            bn(v, &format!("{p}.bn2"), &mut b.project_bn);
        }
    }
}

/// timm names under `prefix` (effdet: `backbone`).
pub(crate) fn walk_backbone(v: &mut dyn Visitor, prefix: &str, m: &mut EfficientNet) {
    conv(v, &format!("{prefix}.conv_stem"), &mut m.conv_stem);
    bn(v, &format!("{prefix}.bn1"), &mut m.bn1);
    for (i, stage) in m.blocks.iter_mut().enumerate() {
        for (j, b) in stage.iter_mut().enumerate() {
            block(v, &format!("{prefix}.blocks.{i}.{j}"), b);
        }
    }
}

fn resample(v: &mut dyn Visitor, prefix: &str, r: &mut Resample) {
    if let Some(c) = &mut r.conv {
        conv(v, &format!("{prefix}.conv.conv"), c);
    }
    if let Some(b) = &mut r.bn {
        bn(v, &format!("{prefix}.conv.bn"), b);
    }
}

fn walk_fpn(v: &mut dyn Visitor, m: &mut BiFpn, backbone_levels: usize) {
    for (k, r) in m.resample.iter_mut().enumerate() {
        resample(v, &format!("fpn.resample.{}", backbone_levels + k), r);
    }
    for (c, cell) in m.cell.iter_mut().enumerate() {
        for (n, node) in cell.fnode.iter_mut().enumerate() {
            let p = format!("fpn.cell.{c}.fnode.{n}");
            for (offset, r) in node.inputs.iter().zip(&mut node.resample) {
                resample(v, &format!("{p}.combine.resample.{offset}"), r);
            }
            if let Some(w) = &mut node.edge_weights {
                v.visit(&format!("{p}.combine.edge_weights"), Slot::Param1(w));
            }
            separable(v, &format!("{p}.after_combine.conv"), &mut node.conv);
        }
    }
}

fn walk_head(v: &mut dyn Visitor, prefix: &str, h: &mut HeadNet) {
    for (i, c) in h.conv_rep.iter_mut().enumerate() {
        separable(v, &format!("{prefix}.conv_rep.{i}"), c);
    }
    for (i, levels) in h.bn_rep.iter_mut().enumerate() {
        for (l, b) in levels.iter_mut().enumerate() {
            bn(v, &format!("{prefix}.bn_rep.{i}.{l}.bn"), b);
        }
    }
    separable(v, &format!("{prefix}.predict"), &mut h.predict);
}

/// Every tensor of the model under effdet's `state_dict` name.
pub(crate) fn walk_model(v: &mut dyn Visitor, m: &mut EfficientDet) {
    walk_backbone(v, "backbone", &mut m.backbone);
    let levels = crate::backbone::FEATURE_STAGES.len();
    walk_fpn(v, &mut m.fpn, levels);
    walk_head(v, "class_net", &mut m.class_net);
    walk_head(v, "box_net", &mut m.box_net);
}
