//! Per-project content logging: for a call of a project that opted in (`gateway_log_content`), the request-log row
//! keeps the prompt and the completion, each cut to `gateway.log_content_max_bytes`. Every other call keeps no
//! text at all. The completion is collected as the answer passes (whole, or chunk by chunk of a stream), so a
//! stream the caller dropped still logs what it was sent.

use serde_json::Value;

use crate::usage::requests::LoggedContent;

/// The text of one call in the making.
#[derive(Debug)]
pub(crate) struct ContentLog {
    max_bytes: usize,
    prompt: String,
    completion: String,
    truncated: bool,
}

impl ContentLog {
    /// Starts the log with the request's `messages` (chat) or `input` (embeddings) as JSON text.
    pub(crate) fn new(prompt: Option<&Value>, max_bytes: usize) -> Self {
        let text = prompt.map(Value::to_string).unwrap_or_default();
        let mut log = ContentLog { max_bytes, prompt: String::new(), completion: String::new(), truncated: false };
        let (kept, cut) = cut(&text, max_bytes);
        log.prompt = kept.to_owned();
        log.truncated = cut;
        log
    }

    fn push(&mut self, text: &str) {
        let room = self.max_bytes.saturating_sub(self.completion.len());
        let (kept, cut) = cut(text, room);
        self.completion.push_str(kept);
        self.truncated |= cut;
    }

    /// The text and tool-call arguments of a whole chat completion.
    pub(crate) fn answer(&mut self, body: &Value) {
        for choice in body.get("choices").and_then(Value::as_array).into_iter().flatten() {
            self.part(&choice["message"]);
        }
    }

    /// The text and tool-call argument pieces of one stream chunk.
    pub(crate) fn chunk(&mut self, chunk: &Value) {
        for choice in chunk.get("choices").and_then(Value::as_array).into_iter().flatten() {
            self.part(&choice["delta"]);
        }
    }

    fn part(&mut self, m: &Value) {
        if let Some(t) = m.get("content").and_then(Value::as_str) {
            self.push(t);
        }
        for call in m.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
            if let Some(a) = call["function"]["arguments"].as_str() {
                self.push(a);
            }
        }
    }

    pub(crate) fn finish(self) -> LoggedContent {
        LoggedContent { prompt: self.prompt, completion: self.completion, truncated: self.truncated }
    }
}

/// `text` cut to at most `max` bytes on a character boundary, and whether it was cut.
fn cut(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prompt_and_completion_are_cut_on_char_boundaries() {
        let mut log = ContentLog::new(Some(&json!("héllo")), 3);
        assert_eq!(log.prompt, "\"h", "byte 3 is inside é");
        assert!(log.truncated);
        log.max_bytes = 100;
        let mut short = ContentLog::new(Some(&json!("hi")), 7);
        assert_eq!(short.prompt, r#""hi""#);
        assert!(!short.truncated);
        short.chunk(&json!({"choices": [{"delta": {"content": "ééé"}}]}));
        short.chunk(&json!({"choices": [{"delta": {"content": "more"}}]}));
        assert_eq!(short.completion, "ééém", "7 bytes: three two-byte characters and one more");
        assert!(short.truncated);
        log.answer(&json!({"choices": [{"message": {"content": null, "tool_calls": [{"function": {"arguments": "{\"a\":1}"}}]}}]}));
        assert_eq!(log.finish().completion, r#"{"a":1}"#);
    }

    #[test]
    fn no_prompt_is_an_empty_prompt() {
        let log = ContentLog::new(None, 100).finish();
        assert_eq!((log.prompt.as_str(), log.completion.as_str(), log.truncated), ("", "", false));
    }
}
