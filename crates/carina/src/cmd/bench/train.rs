//! `carina bench train`: the time of one detector training step (default
//! tf_efficientdet_d0, batch 4, 512×512, random images) on this machine and,
//! where `python3` can import `torch` and `effdet`, of the same step in
//! PyTorch/effdet in the same run, and the ratio.

use anyhow::{Context, bail};
use carina_eval::prepared::median;
use carina_train::bench::{EFFDET_SCRIPT, time_train_steps};
use std::process::Command;

#[derive(clap::Args)]
pub struct Args {
    /// Timed steps on each side (after one warm-up step); the median is reported.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Python interpreter that has torch and effdet.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Device for Carina's side: cpu, cuda[:N] or wgpu (GPU builds).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// PyTorch device for the reference (default: the same kind as --device: `cpu`, or
    /// `cuda[:N]` for a GPU), so that the ratio compares like with like.
    #[arg(long)]
    reference_device: Option<String>,
}

/// The torch device that matches Carina's `--device`: a GPU run is compared with PyTorch on
/// the GPU (wgpu too: PyTorch has no wgpu, and CUDA is what it would use on the same card).
fn torch_device(device: &str) -> String {
    let d = device.trim().to_ascii_lowercase();
    if d.starts_with("cuda") {
        d
    } else if d.starts_with("wgpu") {
        "cuda".into()
    } else {
        "cpu".into()
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.repeats == 0 {
        bail!("--repeats must be at least 1");
    }
    let device = carina_train::device::parse_device(&args.device)?;
    let times = time_train_steps("tf_efficientdet_d0", 512, 4, args.repeats, &device)?;
    let ours = median(&times);
    println!(
        "carina-train ({}): one tf_efficientdet_d0 training step, batch 4, 512x512: {ours:.3} s (median of {}: {times:.3?})",
        args.device, args.repeats
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let reference = args
        .reference_device
        .clone()
        .unwrap_or_else(|| torch_device(&args.device));
    let probe = Command::new(&args.python)
        .args(["-c", "import torch, effdet"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!(
            "PyTorch/effdet: not importable by {} (import torch, effdet failed); no comparison",
            args.python
        );
        return Ok(());
    }
    let out = Command::new(&args.python)
        .args([
            "-c",
            EFFDET_SCRIPT,
            &threads.to_string(),
            &args.repeats.to_string(),
            &reference,
        ])
        .output()
        .with_context(|| format!("cannot run {}", args.python))?;
    if !out.status.success() {
        bail!(
            "the PyTorch/effdet reference failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .context("the PyTorch/effdet reference did not print JSON")?;
    let theirs = json["median_s"]
        .as_f64()
        .context("the PyTorch/effdet reference printed no median_s")?;
    println!(
        "PyTorch/effdet ({reference}, {threads} CPU threads): {theirs:.3} s (median of {}); ratio carina/PyTorch = {:.2}",
        args.repeats,
        ours / theirs
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::torch_device;

    #[test]
    fn the_reference_runs_on_the_same_kind_of_device() {
        assert_eq!(torch_device("cpu"), "cpu");
        assert_eq!(torch_device(" CUDA:1 "), "cuda:1");
        assert_eq!(torch_device("cuda"), "cuda");
        assert_eq!(torch_device("wgpu"), "cuda");
    }
}
