//! Which burn device a run trains on: the pure-Rust `flex` CPU backend by
//! default, or a GPU where carina-train was built with the `cuda` or `wgpu`
//! feature. Always wrapped in burn's autodiff.

use crate::TrainError;
use burn::tensor::Device;

/// The names `--device` accepts, for help and error messages.
pub const DEVICE_NAMES: &str = "cpu, cuda[:N] (feature `cuda`), wgpu (feature `wgpu`)";

/// The default device: burn's autodiff over the pure-Rust `flex` CPU backend.
pub fn cpu_device() -> Device {
    Device::flex().autodiff()
}

/// Parses a device name (`cpu`, `cuda`, `cuda:1`, `wgpu`) into an autodiff device.
/// A GPU this build was compiled without is a clear error, not a silent CPU run.
pub fn parse_device(name: &str) -> Result<Device, TrainError> {
    let name = name.trim().to_ascii_lowercase();
    let (kind, index) = match name.split_once(':') {
        Some((k, i)) => {
            let i: usize = i
                .parse()
                .map_err(|_| TrainError::Config(format!("device index {i:?} is not a number")))?;
            (k.to_string(), i)
        }
        None => (name.clone(), 0),
    };
    match kind.as_str() {
        "cpu" | "flex" if index == 0 => Ok(cpu_device()),
        "cuda" => cuda(index),
        "wgpu" => wgpu(index),
        _ => Err(TrainError::Config(format!(
            "unknown device {name:?}; expected one of {DEVICE_NAMES}"
        ))),
    }
}

#[cfg(feature = "cuda")]
fn cuda(index: usize) -> Result<Device, TrainError> {
    Ok(Device::cuda(index).autodiff())
}

#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize) -> Result<Device, TrainError> {
    Err(TrainError::Config(
        "this carina was built without CUDA support; rebuild with `--features cuda`".into(),
    ))
}

#[cfg(feature = "wgpu")]
fn wgpu(index: usize) -> Result<Device, TrainError> {
    use burn::tensor::DeviceKind;
    let kind = if index == 0 {
        DeviceKind::DefaultDevice
    } else {
        DeviceKind::DiscreteGpu(index)
    };
    Ok(Device::wgpu(kind).autodiff())
}

#[cfg(not(feature = "wgpu"))]
fn wgpu(_index: usize) -> Result<Device, TrainError> {
    Err(TrainError::Config(
        "this carina was built without wgpu support; rebuild with `--features wgpu`".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_names_parse_and_unknown_ones_are_refused() {
        assert!(parse_device("cpu").is_ok());
        assert!(parse_device(" CPU ").is_ok());
        let e = parse_device("tpu").unwrap_err().to_string();
        assert!(e.contains("unknown device"), "{e}");
        assert!(parse_device("cuda:x").is_err());
        assert!(parse_device("cpu:1").is_err());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_gpu_not_compiled_in_is_a_clear_error() {
        let e = parse_device("cuda").unwrap_err().to_string();
        assert!(e.contains("--features cuda"), "{e}");
    }
}
