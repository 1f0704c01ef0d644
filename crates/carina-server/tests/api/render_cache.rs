//! `/render` keeps decoded images per process, keyed by immutable content.

use crate::both_backends;
use crate::helpers::*;
use reqwest::{Method, StatusCode};

both_backends!(render_uses_the_cache_and_never_serves_stale_pixels);

async fn render(app: &TestApp, s: &Session, id: i64) -> image::GrayImage {
    let r = app
        .req(Method::GET, &format!("/api/v1/images/{id}/render"), Some(s))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    image::load_from_memory(&r.bytes().await.unwrap())
        .unwrap()
        .to_luma8()
}

async fn render_uses_the_cache_and_never_serves_stale_pixels(app: TestApp) {
    let (_, rad, viewer) = app.team().await;
    let img = app.upload_ok(&rad, "a.png", png(100, 80, 1)).await;
    let id = img["id"].as_i64().unwrap();
    let cache = app.state.render_cache.clone();
    let before = cache.stats();
    let first = render(&app, &viewer, id).await;
    let after_first = cache.stats();
    assert_eq!(after_first.misses, before.misses + 1);
    assert_eq!(after_first.entries, 1);
    assert_eq!(after_first.bytes, 100 * 80 * 2);
    // With the stored file gone, the second render can only come from the cache.
    let image = app.state.store.db.image(id).await.unwrap().unwrap();
    app.state
        .store
        .objects
        .delete(&image.object_key)
        .await
        .unwrap();
    let second = render(&app, &viewer, id).await;
    assert_eq!(cache.stats().hits, after_first.hits + 1);
    assert_eq!(first, second, "the cached pixels render the same");

    // A replaced file is a new object key: the next render shows the new pixels.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(png(60, 50, 7)).file_name("b.png"),
    );
    let r = app
        .req(
            Method::PUT,
            &format!("/api/v1/images/{id}/file"),
            Some(&rad),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let third = render(&app, &viewer, id).await;
    assert_eq!((third.width(), third.height()), (60, 50));
}
