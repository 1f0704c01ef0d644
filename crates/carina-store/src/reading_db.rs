//! The database's report, blind-reading and consensus operations.

use crate::error::Result;
use crate::models::AnnotationState;
use crate::reading::*;
use crate::{Database, backend};

impl Database {
    /// A new draft report (version 1).
    #[tracing::instrument(skip(self, new), fields(images = ?new.image_ids))]
    pub async fn create_report(&self, new: &NewReport) -> Result<StoredReport> {
        dispatch!(self, create_report(new))
    }
    pub async fn report(&self, id: i64) -> Result<Option<StoredReport>> {
        dispatch!(self, report(id))
    }
    /// Newest first.
    pub async fn list_reports(&self, query: &ReportQuery) -> Result<Vec<StoredReport>> {
        dispatch!(self, list_reports(query))
    }
    /// Edits a draft; a signed report is a [`crate::StoreError::Conflict`].
    #[tracing::instrument(skip(self, edit))]
    pub async fn update_report_draft(
        &self,
        id: i64,
        edit: &ReportEdit,
        user: &str,
    ) -> Result<StoredReport> {
        dispatch!(self, update_report_draft(id, edit, user))
    }
    /// Signs a draft (now, by `user`); signing the amendment of a report
    /// marks that report superseded. Already signed: `Conflict`.
    #[tracing::instrument(skip(self))]
    pub async fn sign_report(&self, id: i64, user: &str) -> Result<StoredReport> {
        dispatch!(self, sign_report(id, user))
    }
    /// A new draft amending signed report `id`; a draft, a superseded or an
    /// already amended report: `Conflict`.
    #[tracing::instrument(skip(self))]
    pub async fn amend_report(&self, id: i64, user: &str) -> Result<StoredReport> {
        dispatch!(self, amend_report(id, user))
    }

    pub async fn assignment(&self, image_id: i64) -> Result<Option<Assignment>> {
        dispatch!(self, assignment(image_id))
    }
    /// Adds readers to an image's blind reading and sets its reviewer.
    #[tracing::instrument(skip(self))]
    pub async fn assign_readers(
        &self,
        image_id: i64,
        readers: &[String],
        reviewer: &str,
        by: &str,
    ) -> Result<Assignment> {
        dispatch!(self, assign_readers(image_id, readers, reviewer, by))
    }
    /// `user`'s readings, and the images `user` reviews.
    pub async fn assignments_of(&self, user: &str) -> Result<(Vec<Reading>, Vec<i64>)> {
        dispatch!(self, assignments_of(user))
    }
    /// The images `reader` is a blind reader of and has not submitted yet:
    /// the one fact blind reading is enforced from.
    pub async fn blind_images(&self, reader: &str) -> Result<Vec<i64>> {
        dispatch!(self, blind_images(reader))
    }
    pub async fn reading(&self, image_id: i64, reader: &str) -> Result<Option<Reading>> {
        dispatch!(self, reading(image_id, reader))
    }
    /// Saves a reader's boxes if the reading is still at `expected_version`
    /// and not submitted.
    pub async fn save_reading(
        &self,
        image_id: i64,
        reader: &str,
        expected_version: i64,
        no_finding: bool,
        boxes: &[ReadingBox],
    ) -> Result<Reading> {
        dispatch!(
            self,
            save_reading(image_id, reader, expected_version, no_finding, boxes)
        )
    }
    pub async fn submit_reading(&self, image_id: i64, reader: &str) -> Result<Reading> {
        dispatch!(self, submit_reading(image_id, reader))
    }
    pub async fn submitted_readings(&self) -> Result<Vec<Reading>> {
        dispatch!(self, submitted_readings())
    }
    /// Replaces the image's consensus boxes by `boxes` (a new annotations
    /// version, recorded in the history as `consensus`).
    #[tracing::instrument(skip(self, boxes, summary))]
    pub async fn save_consensus(
        &self,
        image_id: i64,
        expected_version: i64,
        boxes: &[ConsensusBox],
        reviewer: &str,
        readers: &[String],
        summary: &serde_json::Value,
    ) -> Result<AnnotationState> {
        dispatch!(
            self,
            save_consensus(
                image_id,
                expected_version,
                boxes,
                reviewer,
                readers,
                summary
            )
        )
    }
}
