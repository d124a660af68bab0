//! The dashboard, embedded in the binary: correct content types, ETags, long caching for hashed assets,
//! and an SPA fallback so a reload on a deep link works. API paths never fall back to the page.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use rust_embed::RustEmbed;

use crate::error::Error;

#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

fn etag_of(file: &rust_embed::EmbeddedFile) -> String {
    let hash = file.metadata.sha256_hash();
    format!("\"{}-{}\"", env!("CARGO_PKG_VERSION"), crate::tenancy::apikey::hex(&hash[..12]))
}

/// GET / and any non-API path.
pub async fn serve(req: HttpRequest) -> Result<HttpResponse, Error> {
    let path = req.path().trim_start_matches('/');
    if path.starts_with("v1/") || path == "v1" {
        return Err(Error::NotFound(format!("no route for {} {}", req.method(), req.path())));
    }
    let (name, file) = match Assets::get(path).filter(|_| !path.is_empty()) {
        Some(f) => (path.to_string(), f),
        None if path.rsplit('/').next().is_some_and(|last| last.contains('.')) => {
            return Err(Error::NotFound(format!("no file {}", req.path())));
        }
        None => (
            "index.html".to_string(),
            Assets::get("index.html").ok_or_else(|| Error::internal(anyhow::anyhow!("index.html is not embedded")))?,
        ),
    };
    let etag = etag_of(&file);
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let hashed = name.starts_with("assets/") || name.contains(".min.");
    let cache = if name == "index.html" {
        "no-cache"
    } else if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let mut builder = if not_modified { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    builder
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header(("x-content-type-options", "nosniff"));
    if not_modified {
        return Ok(builder.finish());
    }
    let mime = mime_guess::from_path(&name).first_or_octet_stream();
    builder.insert_header((header::CONTENT_TYPE, mime.essence_str().to_string() + text_charset(&mime)));
    if name == "index.html" {
        builder.insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
        ));
        let html = String::from_utf8_lossy(&file.data).replace("{{VERSION}}", env!("CARGO_PKG_VERSION"));
        return Ok(builder.body(html));
    }
    Ok(builder.body(file.data.into_owned()))
}

fn text_charset(m: &mime_guess::Mime) -> &'static str {
    if m.type_() == "text" || m.subtype() == "javascript" || m.subtype() == "json" {
        "; charset=utf-8"
    } else {
        ""
    }
}
