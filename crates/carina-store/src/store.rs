//! Operations that span the database and the object store. The order is
//! always: write the objects, then the row in a transaction, then (only
//! after the commit) delete objects nothing points at any more. A failed
//! insert deletes the objects it wrote, so no orphan stays behind.

use crate::db::Database;
use crate::error::{Result, StoreError};
use crate::images::{Image, NewImage};
use crate::objects::ObjectStorage;
use bytes::Bytes;
use rand::RngCore;

/// The database and the object store together.
#[derive(Clone, Debug)]
pub struct Store {
    pub db: Database,
    pub objects: ObjectStorage,
}

/// Keys carry a random part so that two processes storing the same content
/// at once never write to each other's objects; the loser deletes its own.
fn object_keys(sha256: &str) -> (String, String) {
    let mut nonce = [0u8; 8];
    rand::rng().fill_bytes(&mut nonce);
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let dir = format!(
        "images/{}/{}-{nonce}",
        &sha256[..2.min(sha256.len())],
        sha256
    );
    (format!("{dir}/image.dcm"), format!("{dir}/thumbnail.png"))
}

impl Store {
    pub fn new(db: Database, objects: ObjectStorage) -> Self {
        Self { db, objects }
    }

    /// Stores a new image: `file` is what will be served (the de-identified
    /// DICOM), `thumbnail` a PNG. Returns the image and whether it is new;
    /// content already stored (same `sha256`) returns the existing image.
    #[tracing::instrument(skip_all, fields(sha256 = %new.sha256))]
    pub async fn add_image(
        &self,
        new: &NewImage,
        file: Bytes,
        thumbnail: Bytes,
    ) -> Result<(Image, bool)> {
        if let Some(existing) = self.db.image_by_sha256(&new.sha256).await? {
            return Ok((existing, false));
        }
        let (key, thumb_key) = object_keys(&new.sha256);
        self.put_both(&key, file, &thumb_key, thumbnail).await?;
        match self.db.insert_image(new, &key, &thumb_key).await {
            Ok(image) => Ok((image, true)),
            Err(err) => {
                self.delete_objects(&[&key, &thumb_key]).await;
                if let StoreError::Conflict(_) = err {
                    // Someone stored the same content a moment ago.
                    if let Some(existing) = self.db.image_by_sha256(&new.sha256).await? {
                        return Ok((existing, false));
                    }
                }
                Err(err)
            }
        }
    }

    /// Replaces an image's file (see `Database::replace_image` for `force`).
    #[tracing::instrument(skip_all, fields(id, sha256 = %new.sha256))]
    pub async fn replace_image(
        &self,
        id: i64,
        new: &NewImage,
        file: Bytes,
        thumbnail: Bytes,
        force: bool,
    ) -> Result<Image> {
        if self.db.image(id).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let (key, thumb_key) = object_keys(&new.sha256);
        self.put_both(&key, file, &thumb_key, thumbnail).await?;
        match self
            .db
            .replace_image(id, new, &key, &thumb_key, force)
            .await
        {
            Ok((old, updated)) => {
                self.delete_objects(&[&old.object_key, &old.thumbnail_key])
                    .await;
                Ok(updated)
            }
            Err(err) => {
                self.delete_objects(&[&key, &thumb_key]).await;
                Err(err)
            }
        }
    }

    /// Deletes an image, its boxes and its objects (its history stays).
    #[tracing::instrument(skip(self))]
    pub async fn delete_image(&self, id: i64) -> Result<()> {
        let image = self.db.delete_image(id).await?;
        self.delete_objects(&[&image.object_key, &image.thumbnail_key])
            .await;
        Ok(())
    }

    pub async fn image_file(&self, image: &Image) -> Result<Bytes> {
        self.objects.get(&image.object_key).await
    }

    pub async fn thumbnail(&self, image: &Image) -> Result<Bytes> {
        self.objects.get(&image.thumbnail_key).await
    }

    async fn put_both(
        &self,
        key: &str,
        file: Bytes,
        thumb_key: &str,
        thumbnail: Bytes,
    ) -> Result<()> {
        self.objects.put(key, file).await?;
        if let Err(e) = self.objects.put(thumb_key, thumbnail).await {
            self.delete_objects(&[key]).await;
            return Err(e);
        }
        Ok(())
    }

    /// Best effort: an object that cannot be deleted is logged, never fatal,
    /// because no row points at it any more.
    async fn delete_objects(&self, keys: &[&str]) {
        for key in keys {
            let in_use = self.db.object_key_in_use(key).await.unwrap_or(true);
            if in_use {
                continue;
            }
            if let Err(e) = self.objects.delete(key).await {
                tracing::warn!(key, error = %e, "could not delete an unreferenced object");
            }
        }
    }
}
