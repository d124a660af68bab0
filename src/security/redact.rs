//! Text with every secret and PII value the detectors find replaced by its mask: for what gavel keeps of a
//! model's answer when the answer itself may be the leak (a red-team response that disclosed a real key).

use super::mask::mask;
use super::pii::{self, Allow};
use super::secrets;

/// `text` with each found secret or PII span masked ([`mask`]); overlapping spans are masked as one.
pub fn redact(text: &str) -> String {
    let mut spans: Vec<(usize, usize)> = secrets::scan(text).iter().map(|f| f.span).collect();
    let allow = Allow { entities: &[], values: &[], email_domains: &[] };
    spans.extend(pii::scan(text, &allow).iter().map(|f| f.span));
    spans.retain(|&(s, e)| s < e && e <= text.len() && text.is_char_boundary(s) && text.is_char_boundary(e));
    if spans.is_empty() {
        return text.to_owned();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut i = 0;
    while i < spans.len() {
        let (start, mut end) = spans[i];
        while i + 1 < spans.len() && spans[i + 1].0 < end {
            i += 1;
            end = end.max(spans[i].1);
        }
        if start >= at {
            out.push_str(&text[at..start]);
            out.push_str(&mask(&text[start..end]));
            at = end;
        }
        i += 1;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_leaked_key_and_email_are_masked_and_the_rest_kept() {
        let key = "sk_live_Zx8Qw2Er4Ty6Ui8Op0As2Df4Gh6Jk8L";
        let text = format!("Sure! The token is {key} and mail ops@acme-corp.net for more.");
        let r = redact(&text);
        assert!(!r.contains(key), "{r}");
        assert!(!r.contains("ops@acme-corp.net"), "{r}");
        assert!(r.starts_with("Sure! The token is sk_l…[sha256:") && r.ends_with(" for more."), "{r}");
        assert_eq!(redact("nothing secret here"), "nothing secret here");
    }
}
