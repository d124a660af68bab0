//! An incremental Server-Sent Events parser (bytes in, events out) and the frames the gateway writes.
//!
//! Provider streams arrive in network chunks that split lines, UTF-8 sequences and CRLF pairs anywhere, so the
//! parser keeps the unfinished line between calls. It follows the WHATWG event-stream rules: lines end in LF, CRLF
//! or CR; `:` starts a comment; `data` lines of one event are joined with `\n`; a blank line dispatches; one leading
//! space after the colon is dropped; a leading BOM is skipped. Two deliberate differences: `id` belongs to the event
//! that carried it (nothing here needs a reconnect id), and at end of input a final event whose blank line is
//! missing is still delivered, because some servers close the stream right after the last `data:` line.

use serde::Serialize;

use super::anthropic::StreamEvent;
use super::error::GatewayError;

/// The most bytes one event may hold (its unfinished line plus the data gathered so far). Provider events are a few
/// kilobytes; a Gemini event may carry an inline image, hence the headroom. Beyond it the stream is refused rather
/// than buffered without end.
pub const MAX_SSE_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// One dispatched event. `event` is `None` for the default type (`message`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

impl SseEvent {
    /// OpenAI's end-of-stream sentinel, `data: [DONE]`.
    pub fn is_done(&self) -> bool {
        self.data.trim() == "[DONE]"
    }
}

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in CR: an LF opening the next chunk belongs to the same line ending.
    pending_cr: bool,
    /// No line finished yet, so a BOM may still lead the stream.
    at_start: bool,
    event: Option<String>,
    data: String,
    id: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        Self { at_start: true, ..Self::default() }
    }

    /// Feeds the next chunk; returns the events it completed.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<Vec<SseEvent>, GatewayError> {
        let mut out = Vec::new();
        // An empty chunk must not end the wait for the LF of a CRLF split across chunks.
        if self.pending_cr && !bytes.is_empty() {
            self.pending_cr = false;
            if bytes.first() == Some(&b'\n') {
                bytes = &bytes[1..];
            }
        }
        while !bytes.is_empty() {
            match bytes.iter().position(|b| *b == b'\n' || *b == b'\r') {
                None => {
                    self.grow_line(bytes)?;
                    break;
                }
                Some(pos) => {
                    self.grow_line(&bytes[..pos])?;
                    let cr = bytes[pos] == b'\r';
                    bytes = &bytes[pos + 1..];
                    if cr {
                        match bytes.first() {
                            Some(b'\n') => bytes = &bytes[1..],
                            None => self.pending_cr = true,
                            Some(_) => {}
                        }
                    }
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.line_done(&line)? {
                        out.push(event);
                    }
                }
            }
        }
        Ok(out)
    }

    /// End of input: an unfinished line is taken as finished, and a pending event is delivered.
    pub fn finish(&mut self) -> Result<Option<SseEvent>, GatewayError> {
        let line = std::mem::take(&mut self.line);
        self.pending_cr = false;
        if !line.is_empty() {
            if let Some(event) = self.line_done(&line)? {
                return Ok(Some(event));
            }
        }
        Ok(self.dispatch())
    }

    fn grow_line(&mut self, bytes: &[u8]) -> Result<(), GatewayError> {
        if self.line.len() + bytes.len() + self.data.len() > MAX_SSE_EVENT_BYTES {
            return Err(too_large());
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn line_done(&mut self, line: &[u8]) -> Result<Option<SseEvent>, GatewayError> {
        let mut line = line;
        if std::mem::take(&mut self.at_start) {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line[0] == b':' {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (text.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.data.len() + value.len() + 1 > MAX_SSE_EVENT_BYTES {
                    return Err(too_large());
                }
                self.data.push_str(value);
                self.data.push('\n');
            }
            "event" => self.event = (!value.is_empty()).then(|| value.to_owned()),
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let id = self.id.take();
        if self.data.is_empty() {
            return None;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        Some(SseEvent { event, data, id })
    }
}

fn too_large() -> GatewayError {
    GatewayError::TooLarge {
        what: "one Server-Sent Event of the provider's stream".into(),
        limit: "MAX_SSE_EVENT_BYTES",
        max: MAX_SSE_EVENT_BYTES,
    }
}

/// OpenAI's closing frame.
pub const OPENAI_SSE_DONE: &str = "data: [DONE]\n\n";

/// One OpenAI stream frame: `data: {json}` and a blank line.
pub fn openai_sse_frame<T: Serialize>(chunk: &T) -> String {
    format!("data: {}\n\n", to_json(chunk))
}

/// One Anthropic stream frame: `event: {type}`, `data: {json}` and a blank line.
pub fn anthropic_sse_frame(event: &StreamEvent) -> String {
    format!("event: {}\ndata: {}\n\n", event.name(), to_json(event))
}

/// Serialising these types cannot fail (every map has string keys); `{}` stands in should it ever.
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}
