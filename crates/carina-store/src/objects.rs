//! The object store for image files: a directory on local disk by default,
//! an S3 bucket (or an S3-compatible server) when configured, in memory for
//! tests. Keys are plain `/`-separated strings chosen by the store.

use crate::error::{Result, StoreError};
use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, PutPayload};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

#[derive(Clone)]
pub struct ObjectStorage {
    inner: Arc<dyn ObjectStore>,
    description: String,
    /// The directory of a local store: its puts stage `key#N` files there,
    /// which a crash leaves behind and the sweeper removes.
    local_root: Option<PathBuf>,
}

/// One stored object as listed: its key, size and when it was last written
/// (the file's mtime on disk, `Last-Modified` on S3).
#[derive(Clone, Debug)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub last_modified: SystemTime,
}

impl std::fmt::Debug for ObjectStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStorage")
            .field("at", &self.description)
            .finish()
    }
}

impl ObjectStorage {
    /// Files under `dir` (created if missing).
    pub fn local(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display())))?;
        let fs = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self {
            inner: Arc::new(fs),
            description: format!("local disk at {}", dir.display()),
            local_root: Some(dir.to_path_buf()),
        })
    }

    /// `s3://bucket/optional/prefix`; credentials, region and endpoint come
    /// from the usual `AWS_*` variables (`AWS_ENDPOINT_URL` for an
    /// S3-compatible server, `AWS_ALLOW_HTTP=true` for plain HTTP).
    pub fn from_url(url: &str) -> Result<Self> {
        Self::from_url_with(url, std::iter::empty::<(&str, &str)>())
    }

    /// [`from_url`](Self::from_url) with extra `object_store` S3 options
    /// (`aws_endpoint`, `aws_allow_http`, `aws_access_key_id`,
    /// `aws_secret_access_key`, `aws_region`, ...), which win over `AWS_*`.
    pub fn from_url_with<K: AsRef<str>, V: Into<String>>(
        url: &str,
        options: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self> {
        let parsed = url::Url::parse(url)
            .map_err(|e| StoreError::Config(format!("object store URL: {e}")))?;
        if parsed.scheme() != "s3" {
            return Err(StoreError::Config(format!(
                "object store URL must start with s3:// (got {}://)",
                parsed.scheme()
            )));
        }
        let bucket = parsed
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| StoreError::Config("object store URL has no bucket".into()))?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for (k, v) in options {
            let key = k
                .as_ref()
                .parse()
                .map_err(|_| StoreError::Config(format!("unknown S3 option {:?}", k.as_ref())))?;
            builder = builder.with_config(key, v);
        }
        let s3 = builder.build()?;
        let prefix = parsed.path().trim_matches('/').to_string();
        let inner: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix.as_str()))
        };
        Ok(Self {
            inner,
            description: format!("s3 bucket {bucket} prefix {prefix:?}"),
            local_root: None,
        })
    }

    pub fn in_memory() -> Self {
        Self {
            inner: Arc::new(InMemory::new()),
            description: "memory".into(),
            local_root: None,
        }
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// The directory of a local store (`None` for S3 and memory).
    pub fn local_root(&self) -> Option<&Path> {
        self.local_root.as_deref()
    }

    fn path(key: &str) -> Result<ObjectPath> {
        ObjectPath::parse(key).map_err(|e| StoreError::Invalid(format!("bad object key: {e}")))
    }

    #[tracing::instrument(skip(self, bytes), fields(len = bytes.len()))]
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.inner
            .put(&Self::path(key)?, PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    pub async fn get(&self, key: &str) -> Result<Bytes> {
        match self.inner.get(&Self::path(key)?).await {
            Ok(r) => Ok(r.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes `key`; a missing object is not an error.
    #[tracing::instrument(skip(self))]
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.inner.delete(&Self::path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.inner.head(&Self::path(key)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every key under `prefix` (for checks that nothing was left behind).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        use futures_util::TryStreamExt;
        let p = Self::path(prefix)?;
        let metas: Vec<_> = self.inner.list(Some(&p)).try_collect().await?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }

    /// Every object under `prefix` with its size and time, as a stream (a
    /// bucket may hold millions; nothing is collected here). The local
    /// store's in-progress `key#N` staging files are not listed.
    pub fn list_info(
        &self,
        prefix: &str,
    ) -> Result<futures_util::stream::BoxStream<'static, Result<ObjectInfo>>> {
        use futures_util::StreamExt;
        let p = Self::path(prefix)?;
        Ok(self
            .inner
            .list(Some(&p))
            .map(|m| {
                let m = m?;
                Ok(ObjectInfo {
                    key: m.location.to_string(),
                    size: m.size,
                    last_modified: m.last_modified.into(),
                })
            })
            .boxed())
    }
}
