//! The SSE parser that reads provider streams: any bytes, split into network chunks anywhere.

use gavel::gateway::{SseEvent, SseParser};

use crate::harness::{corpus, fuzz};

const MAX_LEN: usize = 32 * 1024;

const TOKENS: &[&[u8]] = &[
    b"data: ",
    b"data:",
    b"event: ",
    b"id: ",
    b": comment",
    b"retry: 10",
    b"\n",
    b"\r\n",
    b"\r",
    b"\n\n",
    b"[DONE]",
    b"\xEF\xBB\xBF",
    b"{\"choices\":[]}",
    b"\xE2\x82",
    b"\xAC",
];

/// All events of `bytes` fed in the given chunk sizes (cycled), or the error.
fn events(bytes: &[u8], sizes: &[usize]) -> Result<Vec<SseEvent>, String> {
    let mut p = SseParser::new();
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].clamp(1, rest.len());
        i += 1;
        out.extend(p.push(&rest[..n]).map_err(|e| e.to_string())?);
        rest = &rest[n..];
    }
    out.extend(p.finish().map_err(|e| e.to_string())?);
    Ok(out)
}

#[test]
fn sse_parser() {
    fuzz("sse", corpus("sse"), TOKENS, MAX_LEN, |bytes| {
        let whole = events(bytes, &[usize::MAX]);
        // Where the network splits the stream must not change what it means.
        let sizes = [1 + bytes.len() % 7, 1, 3 + bytes.len() % 13];
        let split = events(bytes, &sizes);
        assert_eq!(whole, split, "chunking changed the events");
        if let Ok(evs) = whole {
            let data: usize = evs.iter().map(|e| e.data.len()).sum();
            // `\n` joins data lines, and invalid UTF-8 may become U+FFFD (3 bytes for 1).
            assert!(data <= 3 * bytes.len(), "{data} bytes of data from {} bytes", bytes.len());
            assert!(evs.len() <= bytes.len() / 2 + 1, "{} events", evs.len());
        }
    });
}
