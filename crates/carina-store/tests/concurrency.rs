//! Write transactions that read before they write must queue behind other
//! writers, not fail. On SQLite a deferred transaction whose snapshot went
//! stale answers SQLITE_BUSY at once, whatever the busy timeout; this is the
//! failure CI once hit as a 500 on registration while the worker wrote.

use carina_store::{Database, Role};

async fn many_writers_at_once(db: Database) {
    let db = std::sync::Arc::new(db);
    // The first account is created alone, so every later one reads a
    // non-empty table and then inserts: a read followed by a write.
    db.create_user("first", "$argon2id$x", Role::Radiologist, false)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..48 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            db.create_user(&format!("user{i}"), "$argon2id$x", Role::Radiologist, false)
                .await
        }));
    }
    let mut failures = Vec::new();
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            failures.push(e.to_string());
        }
    }
    assert!(failures.is_empty(), "writers failed: {failures:?}");
    let users = db.list_users().await.unwrap();
    assert_eq!(users.len(), 49);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn sqlite_writers_queue() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    many_writers_at_once(Database::connect(&url).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn postgres_writers_queue() {
    let Some(base) =
        carina_testkit::env_or_skip(carina_testkit::DATABASE_URL_VAR, "the PostgreSQL tests")
    else {
        return;
    };
    // A fresh database so the user count starts at zero.
    let name = format!("carina_conc_{}", std::process::id());
    let pg = carina_testkit::PgDatabase::create(&base, &name).await;
    let db = Database::connect(&pg.url).await.unwrap();
    many_writers_at_once(db.clone()).await;
    db.close().await;
    pg.drop().await;
}
