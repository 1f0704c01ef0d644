//! The run's logs: one CSV row per optimiser step (`log.csv`) and one per
//! validation (`val.csv`), flushed as they are written so a crashed run keeps
//! them, and read back to resume and to draw the curves.

use crate::TrainError;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// One optimiser step. The loss names are the seed's curve names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub step: u64,
    pub lr: f64,
    pub class_loss: f64,
    pub box_loss: f64,
    pub reg_loss: f64,
    pub total_loss: f64,
    pub grad_norm: f64,
    pub num_positives: u64,
    pub seconds: f64,
}

/// One validation (a row of `val.csv`; the selected one is `model.json`'s `validation`).
pub use carina_core::model_card::ValRecord;

/// An append-only CSV of `T` rows.
pub struct CsvLog {
    path: PathBuf,
    writer: csv::Writer<File>,
}

impl CsvLog {
    /// Opens `path`, keeping only the rows whose `keep` is true (all when starting fresh).
    pub fn open<T>(path: &Path, fresh: bool, keep: impl Fn(&T) -> bool) -> Result<Self, TrainError>
    where
        T: Serialize + for<'de> Deserialize<'de>,
    {
        let kept: Vec<T> = if fresh || !path.exists() {
            Vec::new()
        } else {
            read_rows::<T>(path)?
                .into_iter()
                .filter(|r| keep(r))
                .collect()
        };
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(|e| TrainError::io(format!("creating {}", path.display()), e))?;
        let mut writer = csv::Writer::from_writer(file);
        for r in &kept {
            writer
                .serialize(r)
                .map_err(|e| TrainError::Checkpoint(format!("writing {}: {e}", path.display())))?;
        }
        writer
            .flush()
            .map_err(|e| TrainError::io(format!("writing {}", path.display()), e))?;
        Ok(Self {
            path: path.to_path_buf(),
            writer,
        })
    }

    pub fn append<T: Serialize>(&mut self, row: &T) -> Result<(), TrainError> {
        self.writer
            .serialize(row)
            .map_err(|e| TrainError::Checkpoint(format!("writing {}: {e}", self.path.display())))?;
        self.writer
            .flush()
            .map_err(|e| TrainError::io(format!("writing {}", self.path.display()), e))
    }
}

/// All rows of a CSV log.
pub fn read_rows<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, TrainError> {
    let mut reader = csv::Reader::from_path(path)
        .map_err(|e| TrainError::Checkpoint(format!("reading {}: {e}", path.display())))?;
    reader
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| TrainError::Checkpoint(format!("reading {}: {e}", path.display())))
}
