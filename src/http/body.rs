//! Reading bodies that may carry a dataset: streamed with their own limit (`server.max_dataset_bytes`),
//! refused early when Content-Length already says too much.

use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

use crate::error::{Error, Result};

/// The whole body, at most `limit` bytes.
pub async fn read_limited(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> Result<web::BytesMut> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared {
        if n > limit {
            return Err(Error::PayloadTooLarge(format!("the body is {n} bytes, over the limit of {limit} bytes")));
        }
    }
    let mut buf = web::BytesMut::with_capacity(declared.unwrap_or(8192).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Error::validation(format!("could not read the body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(Error::PayloadTooLarge(format!("the body is over the limit of {limit} bytes")));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// The request's content type, lower-cased essence.
pub fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}
