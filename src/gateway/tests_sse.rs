//! The SSE parser: the event-stream rules case by case, and a property that any chunking yields the same events.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::tests_support::events;
use super::*;

fn ev(event: Option<&str>, data: &str) -> SseEvent {
    SseEvent { event: event.map(str::to_owned), data: data.into(), id: None }
}

#[test]
fn fields_comments_multiline_data_and_line_endings() {
    let text = "\u{feff}: keep-alive\nevent: message_start\ndata: {\"a\":1}\n\n\
                data: first\ndata:second\ndata\n\n\
                id: 7\nretry: 10\nunknown: x\ndata:  two spaces\r\n\r\n\
                event: ping\rdata: cr\r\r\
                event: lonely\n\n\
                data: [DONE]\n\n";
    let got = events(text, 3);
    assert_eq!(
        got,
        vec![
            ev(Some("message_start"), "{\"a\":1}"),
            ev(None, "first\nsecond\n"),
            SseEvent { id: Some("7".into()), ..ev(None, " two spaces") },
            ev(Some("ping"), "cr"),
            ev(None, "[DONE]"),
        ],
        "an event with no data line is not dispatched"
    );
    assert!(got[4].is_done());
}

#[test]
fn crlf_split_between_chunks_is_one_line_ending() {
    let mut p = SseParser::new();
    assert!(p.push(b"data: a\r").unwrap().is_empty());
    assert!(p.push(b"\n").unwrap().is_empty(), "the LF completes the CRLF, it is not a blank line");
    assert_eq!(p.push(b"\r\n").unwrap(), vec![ev(None, "a")]);
}

#[test]
fn utf8_split_across_chunks_survives() {
    let text = "data: blåbær 🫐\n\n".as_bytes();
    let mut p = SseParser::new();
    let mut out = Vec::new();
    for b in text.chunks(1) {
        out.extend(p.push(b).unwrap());
    }
    assert_eq!(out, vec![ev(None, "blåbær 🫐")]);
}

#[test]
fn a_last_event_without_blank_line_is_delivered_at_the_end() {
    let mut p = SseParser::new();
    assert!(p.push(b"data: {\"x\":1}\n\ndata: tail").unwrap().len() == 1);
    assert_eq!(p.finish().unwrap(), Some(ev(None, "tail")));
    assert_eq!(p.finish().unwrap(), None);
}

#[test]
fn an_endless_line_or_event_hits_the_limit() {
    let mut p = SseParser::new();
    let piece = vec![b'x'; 1024 * 1024];
    p.push(b"data: ").unwrap();
    let mut failed = None;
    for _ in 0..=(MAX_SSE_EVENT_BYTES / piece.len()) {
        if let Err(e) = p.push(&piece) {
            failed = Some(e);
            break;
        }
    }
    let e = failed.expect("the limit holds");
    assert_eq!((e.code(), e.status()), ("PAYLOAD_TOO_LARGE", 413));
    assert!(e.to_string().contains("MAX_SSE_EVENT_BYTES"));

    // Many short data lines in one event count too.
    let mut p = SseParser::new();
    let line = format!("data: {}\n", "y".repeat(4096));
    let mut hit = false;
    for _ in 0..=(MAX_SSE_EVENT_BYTES / 4096) {
        if p.push(line.as_bytes()).is_err() {
            hit = true;
            break;
        }
    }
    assert!(hit);
}

#[test]
fn frames_are_what_clients_parse() {
    let frame = openai_sse_frame(&serde_json::json!({"a": 1}));
    assert_eq!(frame, "data: {\"a\":1}\n\n");
    assert_eq!(events(&format!("{frame}{OPENAI_SSE_DONE}"), 2), vec![ev(None, "{\"a\":1}"), ev(None, "[DONE]")]);
}

/// One event as written on the wire with the given line ending, and as it must be parsed.
fn wire(event: &Option<String>, lines: &[String], comment: bool, ending: &str) -> String {
    let mut out = String::new();
    if comment {
        out.push_str(": ping");
        out.push_str(ending);
    }
    if let Some(name) = event {
        out.push_str(&format!("event: {name}{ending}"));
    }
    for line in lines {
        out.push_str(&format!("data: {line}{ending}"));
    }
    out.push_str(ending);
    out
}

fn arb_event() -> impl Strategy<Value = (Option<String>, Vec<String>, bool, usize)> {
    (proptest::option::of("[a-z_]{1,12}"), proptest::collection::vec("[^\r\n]{0,40}", 1..4), any::<bool>(), 0usize..3)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_chunking_gives_the_same_events(
        evs in proptest::collection::vec(arb_event(), 0..12),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..24),
    ) {
        let endings = ["\n", "\r\n", "\r"];
        let mut text = String::new();
        let mut expected = Vec::new();
        for (event, lines, comment, ending) in &evs {
            text.push_str(&wire(event, lines, *comment, endings[*ending]));
            expected.push(SseEvent { event: event.clone(), data: lines.join("\n"), id: None });
        }
        let bytes = text.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut parser = SseParser::new();
        let mut got = Vec::new();
        let mut start = 0;
        for p in points.into_iter().chain([bytes.len()]) {
            got.extend(parser.push(&bytes[start..p]).unwrap());
            start = p;
        }
        got.extend(parser.finish().unwrap());
        prop_assert_eq!(&got, &expected);
        // And the same as one push of everything.
        prop_assert_eq!(events(&text, usize::MAX), expected);
    }
}

#[test]
fn an_empty_chunk_between_cr_and_lf_changes_nothing() {
    // Regression found by the property test: the LF after an empty chunk was taken for a blank line.
    let mut p = SseParser::new();
    let mut out = p.push(b"event: x\r").unwrap();
    out.extend(p.push(b"").unwrap());
    out.extend(p.push(b"\ndata: 1\r\n\r\n").unwrap());
    assert_eq!(out, vec![ev(Some("x"), "1")]);
}
