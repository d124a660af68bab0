//! Helpers shared by the gateway tests: recorded payloads, SSE splitting, and folding OpenAI chunks back into one
//! message so a stream can be compared with the unstreamed answer.
#![allow(clippy::unwrap_used, unreachable_pub)]

use std::collections::BTreeMap;

use super::openai::{ChatCompletionChunk, FinishReason, Role, Usage};
use super::sse::{SseEvent, SseParser};
use super::ChunkTranslator;

pub fn data(name: &str) -> String {
    let path = format!("{}/tests/data/gateway/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn json(name: &str) -> serde_json::Value {
    serde_json::from_str(&data(name)).unwrap()
}

/// Parses `text` fed in pieces of `step` bytes.
pub fn events(text: &str, step: usize) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    for piece in text.as_bytes().chunks(step.max(1)) {
        out.extend(parser.push(piece).unwrap());
    }
    out.extend(parser.finish().unwrap());
    out
}

/// Runs a whole stream through a translator.
pub fn translate(t: &mut dyn ChunkTranslator, events: &[SseEvent]) -> Vec<ChatCompletionChunk> {
    let mut out = Vec::new();
    for e in events {
        out.extend(t.feed(e).unwrap());
    }
    out.extend(t.finish().unwrap());
    out
}

#[derive(Debug, Default, PartialEq)]
pub struct Folded {
    pub role: Option<Role>,
    pub content: String,
    /// index → (id, name, arguments)
    pub tools: BTreeMap<u32, (String, String, String)>,
    pub finish: Option<FinishReason>,
    pub usage: Option<Usage>,
}

/// Folds choice 0 of a chunk sequence, checking OpenAI's invariants on the way: the role comes first, a tool
/// call's first fragment carries its id and name and later ones do not, one finish chunk, usage only in a
/// choice-less last chunk.
pub fn fold(chunks: &[ChatCompletionChunk]) -> Folded {
    let mut f = Folded::default();
    for (n, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk.object, "chat.completion.chunk");
        if let Some(u) = &chunk.usage {
            assert!(chunk.choices.is_empty(), "usage rides on a choice-less chunk");
            assert_eq!(n, chunks.len() - 1, "the usage chunk is the last");
            f.usage = Some(u.clone());
        }
        for choice in chunk.choices.iter().filter(|c| c.index == 0) {
            assert!(f.finish.is_none(), "nothing follows the finish chunk");
            if let Some(role) = choice.delta.role {
                assert!(f.role.is_none() && n == 0, "the role comes once, first");
                f.role = Some(role);
            }
            assert!(f.role.is_some(), "the role comes before content");
            if let Some(c) = &choice.delta.content {
                f.content.push_str(c);
            }
            for call in choice.delta.tool_calls.iter().flatten() {
                let func = call.function.clone().unwrap_or_default();
                match f.tools.get_mut(&call.index) {
                    None => {
                        let id = call.id.clone().expect("first fragment has the id");
                        let name = func.name.expect("first fragment has the name");
                        assert_eq!(call.kind.as_deref(), Some("function"));
                        f.tools.insert(call.index, (id, name, func.arguments.unwrap_or_default()));
                    }
                    Some(entry) => {
                        assert!(call.id.is_none() && func.name.is_none(), "later fragments carry only arguments");
                        entry.2.push_str(&func.arguments.unwrap_or_default());
                    }
                }
            }
            if choice.finish_reason.is_some() {
                f.finish = choice.finish_reason;
            }
        }
    }
    f
}
