//! How long a provider asks us to wait, from whichever of its rate-limit headers it sent.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

/// Never wait longer than this on a provider's say-so: a misparsed or hostile header must not stall a run.
const MAX_WAIT: Duration = Duration::from_secs(600);

/// The wait the provider asked for, so the scheduler backs off exactly as long as needed rather than guessing.
///
/// Reads `retry-after-ms` (milliseconds), `Retry-After` (seconds or an HTTP date), OpenAI's
/// `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` (Go durations such as `1s`, `6m0s`, `20ms`, `1.5s`)
/// and Anthropic's `anthropic-ratelimit-*-reset` (RFC 3339 instants); a reset counts only when its limit's
/// `remaining` header is absent or zero. The largest wins, since every limit that was hit must have reset before
/// the call can succeed; the result is capped at 10 minutes.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let now = Utc::now();
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let mut waits: Vec<Duration> = Vec::new();
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        waits.extend(from_secs(ms / 1000.0));
    }
    if let Some(v) = text("retry-after") {
        match v.parse::<f64>() {
            Ok(secs) => waits.extend(from_secs(secs)),
            Err(_) => waits.extend(DateTime::parse_from_rfc2822(v).ok().map(|t| until(now, t.with_timezone(&Utc)))),
        }
    }
    // A reset only matters for a limit that is used up: OpenAI sends every reset on every answer, and waiting for
    // a half-full token bucket to refill completely after a request-count 429 would stall the run for minutes.
    let exhausted = |remaining: &str| text(remaining).and_then(|v| v.parse::<f64>().ok()).is_none_or(|n| n <= 0.0);
    for limit in ["requests", "tokens"] {
        if exhausted(&format!("x-ratelimit-remaining-{limit}")) {
            waits.extend(text(&format!("x-ratelimit-reset-{limit}")).and_then(go_duration));
        }
    }
    for limit in ["requests", "tokens", "input-tokens", "output-tokens"] {
        if !exhausted(&format!("anthropic-ratelimit-{limit}-remaining")) {
            continue;
        }
        let reset = text(&format!("anthropic-ratelimit-{limit}-reset"));
        if let Some(t) = reset.and_then(|v| DateTime::parse_from_rfc3339(v).ok()) {
            waits.push(until(now, t.with_timezone(&Utc)));
        }
    }
    waits.into_iter().max().map(|d| d.min(MAX_WAIT))
}

fn from_secs(secs: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(secs.min(MAX_WAIT.as_secs_f64())).ok()
}

/// Time from `now` to `then`; an instant already past means "now".
fn until(now: DateTime<Utc>, then: DateTime<Utc>) -> Duration {
    (then - now).to_std().unwrap_or(Duration::ZERO)
}

/// Parses Go's `time.Duration` text (`1h2m3.5s`, `20ms`, `6m0s`, `500us`), which OpenAI uses for its resets.
pub(super) fn go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0_f64;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let value: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" | "μs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    from_secs(total)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_static(k), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn close(d: Duration, secs: f64) -> bool {
        (d.as_secs_f64() - secs).abs() < 1.5
    }

    #[test]
    fn none_without_headers() {
        assert_eq!(retry_after(&HeaderMap::new()), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
    }

    #[test]
    fn retry_after_ms() {
        assert_eq!(retry_after(&headers(&[("retry-after-ms", "1500")])), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn retry_after_seconds_and_http_date() {
        assert_eq!(retry_after(&headers(&[("retry-after", "7")])), Some(Duration::from_secs(7)));
        let at = (Utc::now() + chrono::Duration::seconds(30)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        assert!(close(retry_after(&headers(&[("retry-after", &at)])).unwrap(), 30.0));
        let past = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(retry_after(&headers(&[("retry-after", past)])), Some(Duration::ZERO));
    }

    #[test]
    fn openai_go_durations() {
        for (text, secs) in [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1.5s", 1.5), ("1m30s", 90.0)] {
            assert_eq!(go_duration(text), Duration::try_from_secs_f64(secs).ok(), "{text}");
        }
        assert_eq!(go_duration("12x"), None);
        assert_eq!(go_duration(""), None);
        let h = headers(&[("x-ratelimit-reset-requests", "20ms"), ("x-ratelimit-reset-tokens", "6m0s")]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(360)));
    }

    #[test]
    fn anthropic_rfc3339_resets() {
        let at = |s: i64| (Utc::now() + chrono::Duration::seconds(s)).to_rfc3339();
        let h = headers(&[
            ("anthropic-ratelimit-requests-reset", &at(5)),
            ("anthropic-ratelimit-tokens-reset", &at(20)),
            ("anthropic-ratelimit-input-tokens-reset", &at(12)),
            ("anthropic-ratelimit-output-tokens-reset", &at(3)),
        ]);
        assert!(close(retry_after(&h).unwrap(), 20.0));
    }

    #[test]
    fn only_exhausted_limits_count() {
        let h = headers(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "2s"),
            ("x-ratelimit-remaining-tokens", "15000"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        let later = (Utc::now() + chrono::Duration::seconds(50)).to_rfc3339();
        let h = headers(&[
            ("anthropic-ratelimit-tokens-remaining", "800"),
            ("anthropic-ratelimit-tokens-reset", &later),
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("retry-after", "4"),
        ]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(4)));
    }

    #[test]
    fn largest_wins_and_is_capped() {
        let h = headers(&[("retry-after", "2"), ("retry-after-ms", "4000"), ("x-ratelimit-reset-requests", "3s")]);
        assert_eq!(retry_after(&h), Some(Duration::from_secs(4)));
        assert_eq!(retry_after(&headers(&[("retry-after", "86400")])), Some(MAX_WAIT));
        assert_eq!(retry_after(&headers(&[("x-ratelimit-reset-tokens", "2h")])), Some(MAX_WAIT));
    }
}
