//! `response_path`: where a target's answer sits in its reply JSON, as dotted keys with indexes written either
//! as segments or in brackets: `choices.0.message.content`, `choices[0].message.content`, `data.items[2]`.
//! An empty path is the whole reply.

use serde_json::Value;

/// The OpenAI chat-completions answer.
pub const DEFAULT: &str = "choices.0.message.content";

/// Longest path accepted, in segments.
const MAX_SEGMENTS: usize = 32;

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A parsed response path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponsePath {
    text: String,
    steps: Vec<Step>,
}

impl ResponsePath {
    pub fn parse(text: &str) -> Result<ResponsePath, String> {
        let mut steps = Vec::new();
        if !text.is_empty() {
            for segment in text.split('.') {
                let (key, mut rest) = match segment.find('[') {
                    Some(i) => (&segment[..i], &segment[i..]),
                    None => (segment, ""),
                };
                if key.is_empty() && rest.is_empty() {
                    return Err(format!("response_path {text:?} has an empty segment"));
                }
                if !key.is_empty() {
                    steps.push(Step::Key(key.to_string()));
                }
                while !rest.is_empty() {
                    let close = rest.find(']').ok_or_else(|| format!("response_path {text:?}: unclosed ["))?;
                    let n = rest[1..close]
                        .parse::<usize>()
                        .map_err(|_| format!("response_path {text:?}: [{}] is not an index", &rest[1..close]))?;
                    steps.push(Step::Index(n));
                    rest = &rest[close + 1..];
                    if !rest.is_empty() && !rest.starts_with('[') {
                        return Err(format!("response_path {text:?}: expected . or [ after ]"));
                    }
                }
            }
        }
        if steps.len() > MAX_SEGMENTS {
            return Err(format!("response_path has more than {MAX_SEGMENTS} segments"));
        }
        Ok(ResponsePath { text: text.to_string(), steps })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value at the path: a string as it is, anything else as compact JSON; `None` when nothing is there.
    /// A numeric segment indexes an array and is a key of an object.
    pub fn extract(&self, reply: &Value) -> Option<String> {
        let mut at = reply;
        for step in &self.steps {
            at = match (step, at) {
                (Step::Index(i), Value::Array(a)) => a.get(*i)?,
                (Step::Index(i), Value::Object(m)) => m.get(&i.to_string())?,
                (Step::Key(k), Value::Array(a)) => a.get(k.parse::<usize>().ok()?)?,
                (Step::Key(k), Value::Object(m)) => m.get(k)?,
                _ => return None,
            };
        }
        match at {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_and_bracketed_paths_read_the_reply() {
        let reply =
            json!({"choices": [{"message": {"content": "four"}}], "data": {"items": [1, {"t": "x"}], "0": "zero"}});
        for p in [DEFAULT, "choices[0].message.content", "choices.[0].message.content"] {
            assert_eq!(ResponsePath::parse(p).unwrap().extract(&reply).as_deref(), Some("four"), "{p}");
        }
        assert_eq!(ResponsePath::parse("data.items[1]").unwrap().extract(&reply).as_deref(), Some(r#"{"t":"x"}"#));
        assert_eq!(ResponsePath::parse("data.items.0").unwrap().extract(&reply).as_deref(), Some("1"));
        assert_eq!(ResponsePath::parse("data.0").unwrap().extract(&reply).as_deref(), Some("zero"));
        assert_eq!(ResponsePath::parse("").unwrap().extract(&json!("plain")).as_deref(), Some("plain"));
        assert_eq!(ResponsePath::parse("choices.3.message").unwrap().extract(&reply), None);
        assert_eq!(ResponsePath::parse("data.items.1.t.deeper").unwrap().extract(&reply), None);
    }

    #[test]
    fn malformed_paths_are_refused() {
        for bad in ["a..b", "a[", "a[x]", "a[1]b", "."] {
            assert!(ResponsePath::parse(bad).is_err(), "{bad}");
        }
    }
}
