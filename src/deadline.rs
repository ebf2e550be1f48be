//! Every request has a deadline: its body must arrive, and its handler must answer, within
//! `HOITHI_REQUEST_TIMEOUT_SECONDS`. A client trickling a body byte by byte (slowloris)
//! gets 408 `request_timeout`; a handler stuck behind a dependency gets 503 with
//! `Retry-After`. Either way the handler's future is dropped, which rolls back any
//! transaction it held open, so nothing half-written is kept.
//!
//! Work that must outlive its request (finalizing a round) runs in a spawned task and is
//! not cancelled. Streamed downloads are not limited once their first byte is sent.
//! Request heads are limited by actix itself (`client_request_timeout`, set in startup).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, web};
use futures_util::Stream;

use crate::error::ApiError;

/// How long a request may take until its answer starts; app data of the server.
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeout(pub Duration);

/// The middleware: see the module documentation.
pub async fn limit(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(timeout) = req.app_data::<web::Data<RequestTimeout>>().map(|t| t.0) else {
        return next.call(req).await;
    };
    let body_read = Arc::new(AtomicBool::new(true));
    let payload = req.take_payload();
    if matches!(payload, Payload::None) {
        req.set_payload(payload);
    } else {
        body_read.store(false, Ordering::Relaxed);
        req.set_payload(Payload::from(Box::pin(Watched {
            inner: payload,
            done: body_read.clone(),
        }) as actix_http::BoxedPayloadStream));
    }
    match tokio::time::timeout(timeout, next.call(req)).await {
        Ok(result) => result,
        Err(_) => {
            let seconds = timeout.as_secs().max(1);
            Err(if body_read.load(Ordering::Relaxed) {
                tracing::warn!(seconds, "request timed out in its handler");
                ApiError::Unavailable {
                    detail: format!(
                        "the server could not answer within {seconds} s; retry shortly"
                    ),
                    retry_after_seconds: 5,
                }
            } else {
                ApiError::RequestTimeout { seconds }
            }
            .into())
        }
    }
}

/// A request body that notes when it has been read to its end.
struct Watched {
    inner: Payload,
    done: Arc<AtomicBool>,
}

impl Stream for Watched {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(None) = item {
            self.done.store(true, Ordering::Relaxed);
        }
        item
    }
}
