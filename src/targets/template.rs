//! Prompt templates over a dataset item: `{{input}}`, `{{context}}` (a list joined with blank lines),
//! `{{expected}}` and `{{metadata.NAME}}`, with optional spaces inside the braces. Anything else between `{{` and
//! `}}` is refused when the template is parsed, so a typo fails the submission instead of every item. A JSON body
//! template may also hold `{{messages}}`: a string that is exactly it becomes the conversation as a JSON array of
//! OpenAI-style `{role, content}` messages (one user message outside a multi-turn attempt); inside other text it
//! is that array's JSON text.

use serde_json::Value;

use crate::domain::{text_of, Item};

/// What a placeholder names.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Slot {
    Input,
    Context,
    Expected,
    Metadata(String),
    /// The conversation (JSON body templates only; empty text in a prompt template).
    Messages,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Slot(Slot),
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(Vec<Part>);

/// Longest metadata name a placeholder may use.
const MAX_NAME_CHARS: usize = 128;

impl Template {
    /// The default prompt: the item's input as it is.
    pub fn input() -> Template {
        Template(vec![Part::Slot(Slot::Input)])
    }

    /// Parse `text`; the error names the first unknown placeholder.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            let Some(len) = rest[open + 2..].find("}}") else { break };
            let inner = rest[open + 2..open + 2 + len].trim();
            let slot = match inner {
                "input" => Slot::Input,
                "context" => Slot::Context,
                "expected" => Slot::Expected,
                "messages" => Slot::Messages,
                other => match other.strip_prefix("metadata.") {
                    Some(name)
                        if !name.is_empty()
                            && name.chars().count() <= MAX_NAME_CHARS
                            && name.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c)) =>
                    {
                        Slot::Metadata(name.to_string())
                    }
                    _ => {
                        return Err(format!(
                            "unknown placeholder {{{{{other}}}}}: use {{{{input}}}}, {{{{context}}}}, {{{{expected}}}} or {{{{metadata.NAME}}}}"
                        ))
                    }
                },
            };
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            parts.push(Part::Slot(slot));
            rest = &rest[open + 2 + len + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template(parts))
    }

    /// The template filled in from `item`; missing fields render as empty text.
    pub fn render(&self, item: &Item) -> String {
        self.render_in(item, None)
    }

    /// [`Template::render`] with the conversation for `{{messages}}` (its JSON text).
    fn render_in(&self, item: &Item, messages: Option<&str>) -> String {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Slot(Slot::Input) => out.push_str(&text_of(&item.input)),
                Part::Slot(Slot::Context) => out.push_str(&item.context.join("\n\n")),
                Part::Slot(Slot::Expected) => {
                    if let Some(e) = &item.expected {
                        out.push_str(&text_of(e));
                    }
                }
                Part::Slot(Slot::Messages) => out.push_str(messages.unwrap_or_default()),
                Part::Slot(Slot::Metadata(name)) => {
                    if let Some(v) = item.metadata.as_ref().and_then(|m| m.get(name)) {
                        out.push_str(&text_of(v));
                    }
                }
            }
        }
        out
    }
}

/// A JSON body template: every string in it (object keys are left alone) is a [`Template`]. Rendering substitutes
/// into the parsed strings, so the values are JSON-escaped when the body is written out.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonTemplate {
    shape: Value,
}

impl JsonTemplate {
    /// Check every string of `shape`; the error names the JSON path of the first bad one.
    pub fn parse(shape: Value) -> Result<JsonTemplate, String> {
        fn check(v: &Value, at: &str) -> Result<(), String> {
            match v {
                Value::String(s) => Template::parse(s).map(|_| ()).map_err(|e| format!("{at}: {e}")),
                Value::Array(a) => a.iter().enumerate().try_for_each(|(i, x)| check(x, &format!("{at}[{i}]"))),
                Value::Object(m) => m.iter().try_for_each(|(k, x)| check(x, &format!("{at}.{k}"))),
                _ => Ok(()),
            }
        }
        check(&shape, "body_template")?;
        Ok(JsonTemplate { shape })
    }

    pub fn render(&self, item: &Item) -> Value {
        let one = [serde_json::json!({"role": "user", "content": text_of(&item.input)})];
        self.render_with(item, &one)
    }

    /// The body for `item` in a conversation: `{{messages}}` standing alone is `messages` as a JSON array.
    pub fn render_with(&self, item: &Item, messages: &[Value]) -> Value {
        fn fill(v: &Value, item: &Item, messages: &[Value], text: &str) -> Value {
            match v {
                Value::String(s) if s.trim() == "{{messages}}" || s.trim() == "{{ messages }}" => {
                    Value::Array(messages.to_vec())
                }
                Value::String(s) => {
                    Value::String(Template::parse(s).map(|t| t.render_in(item, Some(text))).unwrap_or_default())
                }
                Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, item, messages, text)).collect()),
                Value::Object(m) => {
                    Value::Object(m.iter().map(|(k, x)| (k.clone(), fill(x, item, messages, text))).collect())
                }
                other => other.clone(),
            }
        }
        let text = Value::Array(messages.to_vec()).to_string();
        fill(&self.shape, item, messages, &text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item() -> Item {
        serde_json::from_value(json!({
            "input": "What is 2+2?", "output": null, "context": ["two plus two", "is four"],
            "expected": 4, "metadata": {"lang": "en", "n": 3}
        }))
        .unwrap()
    }

    #[test]
    fn placeholders_render_from_the_item() {
        let t = Template::parse(
            "Q: {{input}} | C: {{ context }} | E: {{expected}} | {{metadata.lang}}/{{metadata.n}}/{{metadata.none}}",
        )
        .unwrap();
        assert_eq!(t.render(&item()), "Q: What is 2+2? | C: two plus two\n\nis four | E: 4 | en/3/");
        assert_eq!(Template::input().render(&item()), "What is 2+2?");
        assert_eq!(Template::parse("no slots, {{ not closed").unwrap().render(&item()), "no slots, {{ not closed");
        let one: Item = serde_json::from_value(json!({"input": {"q": 1}, "output": null, "context": "one"})).unwrap();
        assert_eq!(Template::parse("{{input}}+{{context}}+{{expected}}").unwrap().render(&one), "{\"q\":1}+one+");
    }

    #[test]
    fn unknown_placeholders_are_refused_by_name() {
        let e = Template::parse("Hi {{inptu}}").unwrap_err();
        assert!(e.contains("{{inptu}}") && e.contains("{{metadata.NAME}}"), "{e}");
        assert!(Template::parse("{{metadata.}}").is_err());
        assert!(Template::parse("{{metadata.a b}}").is_err());
        let e = JsonTemplate::parse(json!({"messages": [{"content": "{{oops}}"}]})).unwrap_err();
        assert!(e.starts_with("body_template.messages[0].content"), "{e}");
    }

    #[test]
    fn json_templates_escape_what_they_substitute() {
        let quoted: Item = serde_json::from_value(json!({"input": "say \"hi\"\n{\"x\": 1}", "output": null})).unwrap();
        let t = JsonTemplate::parse(json!({"q": "<{{input}}>", "n": 7, "keep": true, "list": ["{{input}}"]})).unwrap();
        let body = t.render(&quoted);
        assert_eq!(
            body,
            json!({"q": "<say \"hi\"\n{\"x\": 1}>", "n": 7, "keep": true, "list": ["say \"hi\"\n{\"x\": 1}"]})
        );
        let text = body.to_string();
        assert!(text.contains(r#"\"hi\""#) && text.contains(r"\n"), "{text}");
    }

    #[test]
    fn messages_become_the_conversation() {
        let t =
            JsonTemplate::parse(json!({"model": "m", "messages": "{{messages}}", "note": "n={{messages}}"})).unwrap();
        let one = t.render(&item());
        assert_eq!(one["messages"], json!([{"role": "user", "content": "What is 2+2?"}]));
        let convo = [json!({"role": "user", "content": "a"}), json!({"role": "assistant", "content": "b"})];
        let body = t.render_with(&item(), &convo);
        assert_eq!(body["messages"].as_array().unwrap().len(), 2);
        assert!(body["note"].as_str().unwrap().starts_with("n=[{"), "{body}");
        assert_eq!(Template::parse("{{messages}}").unwrap().render(&item()), "");
    }
}
