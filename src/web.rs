//! The members' web app (and the staff pages), served from the binary: `/` is the page,
//! `/assets/app.<hash>.js|css` its script and styles. The files live in `web/` and are
//! compiled in; their names carry a hash of their content, so they are cached for a year
//! and a new build is fetched at once. Every page answer carries a strict
//! Content-Security-Policy: scripts and styles from this origin only, no inline code, no
//! framing.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Compress, DefaultHeaders};
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

const INDEX: &str = include_str!("../web/index.html");
const SCRIPT: &str = include_str!("../web/app.js");
const STYLES: &str = include_str!("../web/app.css");

/// No inline scripts or styles, nothing from elsewhere, never in a frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; manifest-src 'self'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

struct Assets {
    index: String,
    script_name: String,
    styles_name: String,
}

/// `app.<first 12 hex digits of the SHA-256>.ext`.
fn fingerprinted(stem: &str, ext: &str, content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("{stem}.{hex}.{ext}")
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let script_name = fingerprinted("app", "js", SCRIPT);
        let styles_name = fingerprinted("app", "css", STYLES);
        let index = INDEX
            .replace("{{app.js}}", &format!("/assets/{script_name}"))
            .replace("{{app.css}}", &format!("/assets/{styles_name}"));
        Assets {
            index,
            script_name,
            styles_name,
        }
    })
}

fn page_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((
            header::HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/")
            .wrap(Compress::default())
            .wrap(page_headers())
            .route(web::get().to(index)),
    )
    .service(
        web::resource("/assets/{name}")
            .wrap(Compress::default())
            .wrap(page_headers())
            .route(web::get().to(asset)),
    );
}

async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // Always asks again (cheap with the ETag-free body of a few KiB), so a new
        // build's asset names are picked up on the next visit.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(assets().index.clone())
}

async fn asset(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let assets = assets();
    let (body, content_type) = if *name == assets.script_name {
        (SCRIPT, "text/javascript; charset=utf-8")
    } else if *name == assets.styles_name {
        (STYLES, "text/css; charset=utf-8")
    } else {
        return Err(ApiError::not_found("asset"));
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        ))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_its_fingerprinted_assets() {
        let a = assets();
        assert!(a.index.contains(&format!("/assets/{}", a.script_name)));
        assert!(a.index.contains(&format!("/assets/{}", a.styles_name)));
        assert!(!a.index.contains("{{"));
        assert_eq!(a.script_name.len(), "app.123456789abc.js".len());
    }
}
