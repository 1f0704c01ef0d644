//! Accounts in the store, on SQLite and (with CARINA_TEST_DATABASE_URL)
//! PostgreSQL: migration 0004 on case-duplicate usernames, the atomic login
//! counter across two connection pools (as two processes), and the
//! last-admin rule under concurrent demotions.

use carina_store::{AuditQuery, Database, Role, StoreError, Timestamp};
use std::sync::Arc;

/// A fresh database URL per backend and a cleanup for PostgreSQL's.
struct TestDb {
    url: String,
    pg: Option<carina_testkit::PgDatabase>,
    _dir: tempfile::TempDir,
}

impl TestDb {
    async fn new(postgres: bool, tag: &str) -> Option<TestDb> {
        let dir = tempfile::tempdir().unwrap();
        if !postgres {
            let url = format!("sqlite://{}", dir.path().join("a.db").display());
            return Some(TestDb {
                url,
                pg: None,
                _dir: dir,
            });
        }
        let base =
            carina_testkit::env_or_skip(carina_testkit::DATABASE_URL_VAR, "the PostgreSQL tests")?;
        let name = format!("carina_acc_{tag}_{}", std::process::id());
        let pg = carina_testkit::PgDatabase::create(&base, &name).await;
        Some(TestDb {
            url: pg.url.clone(),
            pg: Some(pg),
            _dir: dir,
        })
    }

    async fn drop_pg(&self) {
        if let Some(pg) = &self.pg {
            pg.drop().await;
        }
    }
}

macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                if let Some(t) = super::TestDb::new(false, stringify!($name)).await {
                    super::$name(&t.url).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(t) = super::TestDb::new(true, stringify!($name)).await {
                    let r = tokio::spawn({
                        let url = t.url.clone();
                        async move { super::$name(&url).await }
                    })
                    .await;
                    t.drop_pg().await;
                    if let Err(e) = r {
                        std::panic::resume_unwind(e.into_panic());
                    }
                }
            }
        }
    };
}

both!(case_duplicates_are_renamed_by_the_migration);
both!(login_counter_is_atomic_across_pools);
both!(last_admin_survives_concurrent_demotions);

/// Accounts made at schema 3 (names unique only with case) are migrated:
/// the oldest keeps its name, later ones become `<name>~<id>`, audited.
async fn case_duplicates_are_renamed_by_the_migration(url: &str) {
    let old = Database::connect_migrated_to(url, Some(3)).await.unwrap();
    for name in ["admin1", "ADMIN1", "Admin1", "other"] {
        old.create_user(name, "$argon2id$x", Role::Radiologist, false)
            .await
            .unwrap();
    }
    old.close().await;
    let db = Database::connect(url).await.unwrap();
    let names: Vec<String> = db
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["admin1", "ADMIN1~2", "Admin1~3", "other"]);
    // Any case finds the oldest; the renamed ones log in by their new names.
    let c = db.credentials("ADMIN1").await.unwrap().unwrap();
    assert_eq!((c.user.id, c.user.username.as_str()), (1, "admin1"));
    assert_eq!(
        db.credentials("admin1~2").await.unwrap().unwrap().user.id,
        2
    );
    // A new account cannot take a name in another case.
    let e = db
        .create_user_with_role("OTHER", "$argon2id$x", Role::Viewer)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    let (entries, total) = db
        .audit(&AuditQuery {
            kind: Some("user_renamed".into()),
            page: 1,
            per_page: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(total, 2);
    let mut renamed: Vec<(Option<String>, String)> = entries
        .iter()
        .map(|e| {
            (
                e.subject.clone(),
                e.detail["new_username"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    renamed.sort();
    assert_eq!(
        renamed,
        [
            (Some("ADMIN1".to_string()), "ADMIN1~2".to_string()),
            (Some("Admin1".to_string()), "Admin1~3".to_string())
        ]
    );
    db.close().await;
}

/// 60 attempts at once through two pools get the counts 1 to 60, each once.
async fn login_counter_is_atomic_across_pools(url: &str) {
    let a = Arc::new(Database::connect(url).await.unwrap());
    let b = Arc::new(Database::connect(url).await.unwrap());
    let now = Timestamp::now();
    let floor = Timestamp(now.millis() - 60_000);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let db = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            db.count_login_attempt("pair:victim|203.0.113.9", now, floor)
                .await
                .unwrap()
                .attempts
        }));
    }
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.unwrap());
    }
    counts.sort();
    assert_eq!(counts, (1..=60).collect::<Vec<i64>>());
    // A window that has passed starts again at one.
    let later = Timestamp(now.millis() + 120_000);
    let c = a
        .count_login_attempt(
            "pair:victim|203.0.113.9",
            later,
            Timestamp(later.millis() - 60_000),
        )
        .await
        .unwrap();
    assert_eq!((c.attempts, c.window_start), (1, later));
    a.reset_login_attempts("pair:victim|203.0.113.9", Timestamp(0))
        .await
        .unwrap();
    assert_eq!(
        b.login_attempts("pair:victim|203.0.113.9").await.unwrap(),
        None
    );
    a.close().await;
    b.close().await;
}

/// Two admins demoting and deleting each other at once: exactly one
/// succeeds, and one admin is left.
async fn last_admin_survives_concurrent_demotions(url: &str) {
    let db = Arc::new(Database::connect(url).await.unwrap());
    let mut survivor: Option<i64> = None;
    for round in 0..5 {
        let x = db
            .create_user_with_role(&format!("x{round}"), "$argon2id$x", Role::Admin)
            .await
            .unwrap();
        let y = db
            .create_user_with_role(&format!("y{round}"), "$argon2id$x", Role::Admin)
            .await
            .unwrap();
        // Only x and y are admins during the race.
        if let Some(s) = survivor {
            db.set_role(s, Role::Radiologist).await.unwrap();
        }
        let (d1, d2) = (db.clone(), db.clone());
        let (r1, r2) = tokio::join!(
            tokio::spawn(async move { d1.set_role(x.id, Role::Viewer).await }),
            tokio::spawn(async move { d2.delete_user(y.id).await })
        );
        let (r1, r2) = (r1.unwrap(), r2.unwrap());
        assert!(r1.is_ok() != r2.is_ok(), "round {round}: {r1:?} / {r2:?}");
        let refused = r1.err().or(r2.err()).unwrap();
        assert!(matches!(refused, StoreError::Conflict(_)), "{refused:?}");
        let admins: Vec<i64> = db
            .list_users()
            .await
            .unwrap()
            .into_iter()
            .filter(|u| u.role == Role::Admin)
            .map(|u| u.id)
            .collect();
        assert_eq!(admins.len(), 1, "round {round}");
        assert!(matches!(
            db.set_role(admins[0], Role::Radiologist).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            db.delete_user(admins[0]).await,
            Err(StoreError::Conflict(_))
        ));
        survivor = Some(admins[0]);
    }
    db.close().await;
}
