//! The process-wide decode budget (`CARINA_DECODE_MEMORY_MB`).
//!
//! Decoding an image allocates several times its pixel count (the parsed
//! DICOM object, the decoder's samples, the gray output), so a handful of
//! concurrent uploads could take the machine's memory. Every decode first
//! estimates its allocation from the headers alone (`carina_imaging::
//! decode_cost`, which also refuses what the limits refuse, without
//! allocating), then takes that many bytes from one weighted semaphore and
//! holds them until it is done: concurrent decodes queue instead of
//! multiplying memory. A decode that needs more than the whole budget is
//! refused at once rather than waiting forever.

use crate::error::{AppError, AppResult};
use bytes::Bytes;
use carina_imaging::{Decoded, ImagingError, Limits};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Permits are KiB of the budget.
const UNIT: u64 = 1024;

pub struct DecodeBudget {
    permits: Arc<Semaphore>,
    total_units: u32,
}

/// Why a decode was not admitted.
#[derive(Debug)]
pub enum Refusal {
    /// The headers or the structure are over a limit, or malformed.
    Image(ImagingError),
    /// The decode would need more than the whole budget.
    OverBudget { need: u64, budget: u64 },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Image(e) => e.fmt(f),
            Refusal::OverBudget { need, budget } => write!(
                f,
                "decoding this image needs about {} MiB, more than the decode memory budget of {} MiB (CARINA_DECODE_MEMORY_MB)",
                need.div_ceil(1 << 20),
                budget / (1 << 20)
            ),
        }
    }
}

/// A decode admitted to the budget: the bytes are given back when it is dropped.
#[derive(Debug)]
pub struct Admission {
    /// The estimated allocation of one decode, in bytes.
    pub cost: u64,
    _permit: OwnedSemaphorePermit,
}

impl DecodeBudget {
    /// A budget of `bytes` (at least 1 KiB, at most 4 TiB).
    pub fn new(bytes: u64) -> Self {
        let total_units = (bytes / UNIT).clamp(1, u64::from(u32::MAX)) as u32;
        Self {
            permits: Arc::new(Semaphore::new(total_units as usize)),
            total_units,
        }
    }

    pub fn total_bytes(&self) -> u64 {
        u64::from(self.total_units) * UNIT
    }

    /// Bytes of the budget not held by any decode now.
    pub fn available_bytes(&self) -> u64 {
        self.permits.available_permits() as u64 * UNIT
    }

    /// Estimate the decode of `bytes` under `limits` (on the blocking pool:
    /// a deflated DICOM file is inflated to be measured, without being
    /// kept), then wait for `cost × factor` bytes of the budget (`factor`:
    /// how many such decodes the caller runs at once, e.g. the upload and
    /// its de-identified copy; capped at the whole budget, so it never
    /// waits forever). Refused when one decode alone needs more than the
    /// budget.
    pub async fn admit(
        &self,
        bytes: Bytes,
        limits: Limits,
        factor: u64,
    ) -> Result<Admission, Refusal> {
        let cost =
            tokio::task::spawn_blocking(move || carina_imaging::decode_cost(&bytes, &limits))
                .await
                .map_err(|e| {
                    Refusal::Image(ImagingError::CorruptImage {
                        format: "image",
                        message: format!("the header check failed: {e}"),
                    })
                })?
                .map_err(Refusal::Image)?;
        self.reserve(cost, factor).await
    }

    /// Wait for `cost × factor` bytes (at most the whole budget); refused
    /// when `cost` alone is more than the budget.
    pub async fn reserve(&self, cost: u64, factor: u64) -> Result<Admission, Refusal> {
        let budget = self.total_bytes();
        if cost > budget {
            return Err(Refusal::OverBudget { need: cost, budget });
        }
        let units = cost
            .saturating_mul(factor.max(1))
            .div_ceil(UNIT)
            .clamp(1, u64::from(self.total_units)) as u32;
        let permit = self
            .permits
            .clone()
            .acquire_many_owned(units)
            .await
            .expect("the decode budget's semaphore is never closed");
        Ok(Admission {
            cost,
            _permit: permit,
        })
    }
}

impl DecodeBudget {
    /// Decode a stored file within the budget (for `/render` and reports),
    /// under `limits` (the configuration's stored-file limits). Stored files
    /// passed the upload checks, so a refusal here means the limits were
    /// lowered since: a 422 that says which.
    pub async fn decode_stored(&self, bytes: Bytes, limits: Limits) -> AppResult<Decoded> {
        let admission = self.admit(bytes.clone(), limits, 1).await.map_err(|r| {
            AppError::unprocessable(format!("the stored image cannot be decoded: {r}"))
        })?;
        tokio::task::spawn_blocking(move || {
            let _admission = admission;
            carina_imaging::decode(&bytes, &limits)
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn decodes_queue_and_an_oversized_one_is_refused() {
        let budget = Arc::new(DecodeBudget::new(10 << 20));
        assert_eq!(budget.total_bytes(), 10 << 20);
        let first = budget.reserve(6 << 20, 1).await.unwrap();
        assert_eq!(budget.available_bytes(), 4 << 20);
        // A second 6 MiB decode waits until the first is done.
        let b = budget.clone();
        let second = tokio::spawn(async move { b.reserve(6 << 20, 1).await.unwrap() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!second.is_finished());
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("admitted once the first was done")
            .unwrap();
        assert_eq!(second.cost, 6 << 20);
        drop(second);
        // More than the whole budget: refused, not queued.
        match budget.reserve(11 << 20, 1).await {
            Err(Refusal::OverBudget { need, budget }) => {
                assert_eq!((need, budget), (11 << 20, 10 << 20));
            }
            other => panic!("expected OverBudget, got {other:?}"),
        }
        let msg = Refusal::OverBudget {
            need: 11 << 20,
            budget: 10 << 20,
        }
        .to_string();
        assert!(msg.contains("CARINA_DECODE_MEMORY_MB"), "{msg}");
        // A factor never asks for more than the whole budget.
        let all = budget.reserve(8 << 20, 2).await.unwrap();
        assert_eq!(budget.available_bytes(), 0);
        drop(all);
        assert_eq!(budget.available_bytes(), 10 << 20);
    }

    #[tokio::test]
    async fn admission_refuses_what_the_limits_refuse() {
        let budget = DecodeBudget::new(64 << 20);
        // A PNG header declaring 10,000 × 10,000 gray pixels.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&10_000u32.to_be_bytes());
        png.extend_from_slice(&10_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0, 0]);
        match budget.admit(png.into(), Limits::default(), 1).await {
            Err(Refusal::Image(ImagingError::TooManyPixels { .. })) => {}
            other => panic!("expected TooManyPixels, got {other:?}"),
        }
        assert_eq!(budget.available_bytes(), 64 << 20);
    }
}
