//! The web app as served: one page, fingerprinted assets cached for a year, security
//! headers on every page answer, and a first load under 100 KiB on the wire.

use crate::helpers::{assert_problem, spawn_app};

/// The asset paths the page names (`/assets/app.<hash>.js|css`).
fn asset_paths(page: &str) -> Vec<String> {
    page.split('"')
        .filter(|part| part.starts_with("/assets/"))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_page_and_its_assets_carry_security_headers_and_cache_as_they_should() {
    let app = spawn_app().await;
    let page = app.get("/").await;
    assert_eq!(page.status().as_u16(), 200);
    let headers = page.headers().clone();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/html"));
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("cache-control"), "no-cache");
    let body = page.text().await.expect("page");
    assert!(body.contains(r#"<html lang="vi">"#));
    assert!(!body.contains("<script>"), "no inline script");

    let assets = asset_paths(&body);
    assert_eq!(assets.len(), 2, "{assets:?}");
    for path in &assets {
        let asset = app.get(path).await;
        assert_eq!(asset.status().as_u16(), 200, "{path}");
        assert_eq!(
            asset.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(asset.headers()["x-content-type-options"], "nosniff");
    }
    assert_problem(
        app.get("/assets/app.000000000000.js").await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn the_first_load_is_under_100_kib_compressed() {
    let app = spawn_app().await;
    let fetch = |path: String| {
        let app = &app;
        async move {
            let response = app
                .api
                .get(app.url(&path))
                .header("accept-encoding", "gzip")
                .send()
                .await
                .expect("GET");
            assert_eq!(response.status().as_u16(), 200, "{path}");
            assert_eq!(response.headers()["content-encoding"], "gzip", "{path}");
            response.bytes().await.expect("body").len()
        }
    };
    let mut wire = fetch("/".to_owned()).await;
    let page = app.get("/").await.text().await.expect("page");
    for path in asset_paths(&page) {
        wire += fetch(path).await;
    }
    assert!(wire < 100 * 1024, "first load is {wire} bytes on the wire");
}
