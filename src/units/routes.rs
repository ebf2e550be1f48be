//! `GET /api/v1/units` and `POST /api/v1/units/import`.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::domain::Role;
use crate::error::{ApiError, Problem};
use crate::extract::{DEFAULT_JSON_LIMIT, Page};
use crate::state::AppState;
use crate::units::import::{self, LineError};
use crate::units::store;

/// A units file may list every commune of a province: allow 8 MiB.
const IMPORT_LIMIT: usize = 8 * DEFAULT_JSON_LIMIT;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/units").route(web::get().to(list_units)))
        .service(
            web::resource("/api/v1/units/import")
                .app_data(web::PayloadConfig::new(IMPORT_LIMIT))
                .route(web::post().to(import_units)),
        );
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UnitQuery {
    /// List the children of this unit; without it, the top-level units.
    parent: Option<String>,
    /// 1–500, default 50.
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Unit {
    code: String,
    name: String,
    parent_code: Option<String>,
    member_count: i32,
    /// `member_count` summed over the unit and all its sub-units.
    member_count_total: i64,
    /// How many direct sub-units it has.
    children: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitList {
    items: Vec<Unit>,
    total: i64,
}

/// Organisation units, one level at a time.
#[utoipa::path(get, path = "/api/v1/units", tag = "units", params(UnitQuery),
    responses(
        (status = 200, body = UnitList),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "no unit has the `parent` code"),
    ))]
pub async fn list_units(
    state: web::Data<AppState>,
    query: web::Query<UnitQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = Page::parse(query.limit, query.offset)?;
    if let Some(parent) = &query.parent
        && !store::exists(&state.db, parent).await?
    {
        return Err(ApiError::not_found(format!("unit `{parent}`")));
    }
    let rows =
        store::list_children(&state.db, query.parent.as_deref(), page.limit, page.offset).await?;
    let total = rows.first().map_or(0, |r| r.total);
    Ok(HttpResponse::Ok().json(UnitList {
        items: rows
            .into_iter()
            .map(|r| Unit {
                code: r.code,
                name: r.name,
                parent_code: r.parent_code,
                member_count: r.member_count,
                member_count_total: r.member_count_total,
                children: r.children,
            })
            .collect(),
        total,
    }))
}

/// `UnitImportReport` in the OpenAPI document: the question import's report is the
/// `ImportReport` there, and two schemas of one name would leave only one of them.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UnitImportReport)]
pub struct ImportReport {
    /// Units inserted or updated; 0 when any line has an error (nothing is stored then).
    pub imported: u64,
    pub errors: Vec<LineError>,
}

/// Checks a units CSV against the stored tree and, when every line is right, stores it.
pub async fn import_csv(pool: &PgPool, bytes: &[u8]) -> anyhow::Result<ImportReport> {
    let rows = match import::parse(bytes) {
        Ok(rows) => rows,
        Err(errors) => {
            return Ok(ImportReport {
                imported: 0,
                errors,
            });
        }
    };
    let existing = store::tree(pool).await?;
    let errors = import::check_tree(&rows, &existing);
    if !errors.is_empty() {
        return Ok(ImportReport {
            imported: 0,
            errors,
        });
    }
    let imported = store::upsert(pool, &rows).await?;
    Ok(ImportReport {
        imported,
        errors: Vec::new(),
    })
}

/// Import units from CSV (`code,name,parent_code,member_count`); re-importing updates in
/// place. Any bad line blocks the whole file and is reported by line.
#[utoipa::path(post, path = "/api/v1/units/import", tag = "units", security(("bearer" = [])),
    // Optional: an empty body is an empty file, and its missing header row is reported in
    // `errors` like any other bad line.
    request_body(content = Option<String>, content_type = "text/csv",
        description = "code,name,parent_code,member_count; an empty body is reported as a file without its header row"),
    responses(
        (status = 200, body = ImportReport),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "not an organiser"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "over 8 MiB"),
    ))]
pub async fn import_units(
    user: AuthUser,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    user.require(&[Role::Organizer])?;
    let report = import_csv(&state.db, &body).await?;
    Ok(HttpResponse::Ok().json(report))
}
