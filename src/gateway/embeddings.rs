//! OpenAI embeddings ↔ Gemini `batchEmbedContents`. (Anthropic has no embeddings API; Azure, Groq and compatible
//! servers take OpenAI's request as it is.)

use base64::Engine as _;
use serde_json::Value;

use super::common::check_extra;
use super::error::GatewayError;
use super::gemini::{BatchEmbedRequest, BatchEmbedResponse, Content, EmbedContentRequest, Part};
use super::openai::{Embedding, EmbeddingsRequest, EmbeddingsResponse, EmbeddingsUsage};

/// Gemini's documented ceiling of requests per `batchEmbedContents` call.
pub const MAX_EMBED_INPUTS: usize = 100;

/// The request for `POST /v1beta/models/{model}:batchEmbedContents`.
pub fn embeddings_to_gemini(req: &EmbeddingsRequest, model: &str) -> Result<BatchEmbedRequest, GatewayError> {
    check_extra(&req.extra, "google", &[])?;
    if let Some(format) = req.encoding_format.as_deref().filter(|f| !matches!(*f, "float" | "base64")) {
        return Err(GatewayError::invalid("encoding_format", format!("`{format}` is neither float nor base64")));
    }
    let texts: Vec<String> = match &req.input {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).map(str::to_owned).collect()
        }
        _ => {
            return Err(GatewayError::unsupported(
                "input",
                "google",
                "token arrays as input; send text (a string or a list of strings)",
            ))
        }
    };
    if texts.is_empty() {
        return Err(GatewayError::invalid("input", "is empty"));
    }
    if texts.len() > MAX_EMBED_INPUTS {
        return Err(GatewayError::TooLarge {
            what: "`input`".into(),
            limit: "MAX_EMBED_INPUTS",
            max: MAX_EMBED_INPUTS,
        });
    }
    let model = model.strip_prefix("models/").unwrap_or(model);
    Ok(BatchEmbedRequest {
        requests: texts
            .into_iter()
            .map(|text| EmbedContentRequest {
                model: format!("models/{model}"),
                content: Content { role: None, parts: vec![Part::text(text)] },
                output_dimensionality: req.dimensions,
            })
            .collect(),
    })
}

/// Gemini's vectors in OpenAI's shape. Google reports no token counts, so usage is zero. With `base64`, each vector
/// is encoded as OpenAI does: little-endian `f32`s, base64.
pub fn gemini_embeddings_to_openai(resp: &BatchEmbedResponse, model: &str, base64: bool) -> EmbeddingsResponse {
    let data = resp
        .embeddings
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let embedding = if base64 {
                #[allow(clippy::cast_possible_truncation)]
                let bytes: Vec<u8> = e.values.iter().flat_map(|v| (*v as f32).to_le_bytes()).collect();
                Value::from(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                Value::from(e.values.clone())
            };
            Embedding { object: "embedding".into(), index: u32::try_from(i).unwrap_or(u32::MAX), embedding }
        })
        .collect();
    EmbeddingsResponse { object: "list".into(), data, model: model.to_owned(), usage: EmbeddingsUsage::default() }
}
