//! Batches for training, produced ahead of time on worker threads.
//!
//! Worker `w` of `W` builds micro-batches `first + w, first + w + W, ...`,
//! each into its own bounded channel; the consumer reads the channels in turn,
//! so batches arrive in order whatever the threads' timing. Micro-batch `b`
//! holds global samples `b·B .. b·B + B`; sample `c` is image
//! `order(epoch = c / n)[c % n]` augmented with a generator seeded from
//! `(seed, c)`, which is what makes runs repeatable and resumable.

use crate::TrainError;
use crate::assign::{AnchorTargets, GtBox, label_anchors};
use crate::augment::{LabeledBox, augment};
use crate::config::AugmentConfig;
use crate::data::{Split, mix};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// One micro-batch, ready for the model and the loss.
#[derive(Debug, Clone)]
pub struct TrainBatch {
    /// Normalised 3-channel images, `[B, 3, S, S]` row-major.
    pub images: Vec<f32>,
    pub size: usize,
    pub targets: Vec<AnchorTargets>,
    /// The boxes after augmentation, in model pixels.
    pub boxes: Vec<Vec<LabeledBox>>,
}

impl TrainBatch {
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

/// What the workers need besides the data.
#[derive(Debug, Clone)]
pub struct LoaderSettings {
    pub seed: u64,
    pub batch_size: usize,
    pub workers: usize,
    /// `None` disables augmentation.
    pub augment: Option<AugmentConfig>,
    pub match_threshold: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

pub struct Loader {
    receivers: Vec<Receiver<Result<TrainBatch, TrainError>>>,
    next: u64,
    first: u64,
    handles: Vec<JoinHandle<()>>,
}

impl Loader {
    /// Starts producing micro-batches `first, first + 1, ...` (no end; drop to stop).
    pub fn start(
        split: Arc<Split>,
        anchors: Arc<Vec<[f32; 4]>>,
        settings: LoaderSettings,
        first: u64,
    ) -> Self {
        let workers = settings.workers.max(1);
        let mut receivers = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = sync_channel(2);
            receivers.push(rx);
            let (split, anchors, settings) = (split.clone(), anchors.clone(), settings.clone());
            handles.push(std::thread::spawn(move || {
                worker(
                    &split,
                    &anchors,
                    &settings,
                    first + w as u64,
                    workers as u64,
                    tx,
                )
            }));
        }
        Self {
            receivers,
            next: first,
            first,
            handles,
        }
    }

    /// The next micro-batch, in order.
    pub fn next_batch(&mut self) -> Result<TrainBatch, TrainError> {
        let w = ((self.next - self.first) % self.receivers.len() as u64) as usize;
        self.next += 1;
        self.receivers[w]
            .recv()
            .map_err(|_| TrainError::Model("a data-loading thread stopped unexpectedly".into()))?
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Closing the channels makes every worker's next send fail, ending it.
        self.receivers.clear();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

fn worker(
    split: &Split,
    anchors: &[[f32; 4]],
    s: &LoaderSettings,
    mut batch: u64,
    stride: u64,
    tx: SyncSender<Result<TrainBatch, TrainError>>,
) {
    let mut order: Option<(u64, Vec<usize>)> = None;
    loop {
        let result = build_batch(split, anchors, s, batch, &mut order);
        let failed = result.is_err();
        if tx.send(result).is_err() || failed {
            return;
        }
        batch += stride;
    }
}

fn build_batch(
    split: &Split,
    anchors: &[[f32; 4]],
    s: &LoaderSettings,
    batch: u64,
    order: &mut Option<(u64, Vec<usize>)>,
) -> Result<TrainBatch, TrainError> {
    let n = split.len() as u64;
    let size = split.size;
    let plane = size * size;
    let mut out = TrainBatch {
        images: vec![0.0; s.batch_size * 3 * plane],
        size,
        targets: Vec::with_capacity(s.batch_size),
        boxes: Vec::with_capacity(s.batch_size),
    };
    for i in 0..s.batch_size {
        let c = batch * s.batch_size as u64 + i as u64;
        let epoch = c / n;
        if order.as_ref().is_none_or(|(e, _)| *e != epoch) {
            *order = Some((epoch, split.epoch_order(s.seed, epoch)));
        }
        let idx = order.as_ref().expect("set above").1[(c % n) as usize];
        let cached = split.get(idx)?;
        let (img, boxes) = match &s.augment {
            Some(cfg) => {
                let mut rng = ChaCha8Rng::seed_from_u64(mix(s.seed ^ 0xA5A5_A5A5, c));
                augment(&cached.0, &cached.1, cfg, &mut rng)
            }
            None => (cached.0.clone(), cached.1.clone()),
        };
        let base = i * 3 * plane;
        for ch in 0..3 {
            let (m, sd) = (s.mean[ch], s.std[ch]);
            let dst = &mut out.images[base + ch * plane..base + (ch + 1) * plane];
            for (d, v) in dst.iter_mut().zip(&img.data) {
                *d = (v - m) / sd;
            }
        }
        let gts: Vec<GtBox> = boxes
            .iter()
            .map(|b| GtBox {
                yxyx: [b.xyxy[1], b.xyxy[0], b.xyxy[3], b.xyxy[2]],
                class: b.class,
            })
            .collect();
        out.targets
            .push(label_anchors(anchors, &gts, s.match_threshold));
        out.boxes.push(boxes);
    }
    Ok(out)
}
