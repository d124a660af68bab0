//! Insecure output: content that becomes dangerous when an application renders or executes a model's
//! answer. Script tags and inline event handlers, `javascript:` URLs, markdown images and links that carry
//! data to hosts not on the allow-list (the classic exfiltration channel: an image URL the client fetches
//! with the conversation in its query string), SQL and shell payload shapes, template-injection markers and
//! terminal escape sequences.

use std::sync::LazyLock;

use super::engine::{dedup_overlaps, Anchor, Charset, Engine, RuleSpec};
use super::text::preview;
use super::{Check, Finding, Severity};

struct Rule {
    id: &'static str,
    keywords: &'static [&'static str],
    pattern: &'static str,
    severity: Severity,
    confidence: f64,
}

/// Window either side of a keyword for the short payload shapes.
const WINDOW: usize = 200;
/// Window before a `](` / `<img` keyword (the link text) and after it (the URL).
const URL_BACK: usize = 240;
const URL_FWD: usize = 2100;
/// Query strings at least this long on a link to a foreign host are treated as carrying data.
pub const EXFIL_MIN_QUERY: usize = 32;

static RULES: &[Rule] = &[
    Rule {
        id: "script_tag",
        keywords: &["<script"],
        pattern: r"(?i)<script(?:\s[^>]*)?>",
        severity: Severity::High,
        confidence: 0.95,
    },
    Rule {
        id: "event_handler",
        keywords: &[
            "onerror",
            "onload",
            "onclick",
            "onmouseover",
            "onfocus",
            "onmouseenter",
            "onkeydown",
            "onkeyup",
            "onsubmit",
            "onanimationstart",
            "ontoggle",
            "onbegin",
            "onpointerover",
            "onblur",
            "oninput",
            "onchange",
        ],
        pattern: r#"(?i)<[a-z][a-z0-9-]*(?:\s[^>]*?)?[\s/"']on[a-z]{4,20}\s*=\s*["']?[^\s>"']"#,
        severity: Severity::High,
        confidence: 0.9,
    },
    Rule {
        id: "javascript_url",
        keywords: &["javascript:", "vbscript:", "data:text/html"],
        pattern: r#"(?i)(?:^|[\s("'=\]])(?:javascript|vbscript):[^\s)"']+|(?i)data:text/html[;,]"#,
        severity: Severity::High,
        confidence: 0.9,
    },
    Rule {
        id: "markdown_image",
        keywords: &["]("],
        pattern: r"!\[[^\]\n]*\]\(\s*<?(https?://[^)\s>]+)",
        severity: Severity::High,
        confidence: 0.85,
    },
    Rule {
        id: "markdown_link",
        keywords: &["]("],
        pattern: r"(?:^|[^!])\[[^\]\n]*\]\(\s*<?(https?://[^)\s>]+)",
        severity: Severity::Medium,
        confidence: 0.75,
    },
    Rule {
        id: "html_image",
        keywords: &["<img"],
        pattern: r#"(?i)<img\s[^>]*?src\s*=\s*["']?(https?://[^"'\s>]+)"#,
        severity: Severity::High,
        confidence: 0.85,
    },
    Rule {
        id: "sql_injection",
        keywords: &[
            "' or",
            "'or",
            "\" or",
            "union",
            "drop table",
            "xp_cmdshell",
            "waitfor delay",
            "sleep(",
            "benchmark(",
            "--",
        ],
        pattern: concat!(
            r#"(?i)['"]\s*or\s+['"]?[A-Za-z0-9_]{1,10}['"]?\s*=\s*['"]?[A-Za-z0-9_]{1,10}"#,
            r#"|(?i)['"]\s*;\s*(?:drop|delete|insert|update|truncate|shutdown|exec)\s"#,
            r"|(?i)union\s+(?:all\s+)?select\s+(?:null|[0-9]|@@version|user\(\)|version\(\)|password|concat\()",
            r"|(?i)xp_cmdshell|(?i)waitfor\s+delay\s+'|(?i)(?:pg_sleep|sleep|benchmark)\s*\(\s*[0-9]+\s*[,)][^\n]*?--",
            r#"|(?i)admin['"]\s*--"#,
        ),
        severity: Severity::Medium,
        confidence: 0.8,
    },
    Rule {
        id: "shell_payload",
        keywords: &[
            "rm -rf",
            "| sh",
            "|sh",
            "| bash",
            "|bash",
            "/dev/tcp/",
            "nc -e",
            ":(){",
            "mkfifo",
            "base64 -d",
            "powershell",
            "certutil",
            "chmod +x",
            "wget ",
            "curl ",
        ],
        pattern: concat!(
            r"(?i)rm\s+-(?:rf|fr)\s+(?:/|~|\*|\$HOME)(?:\s|$|;)",
            r"|(?i)(?:curl|wget)\s[^\n|;]+\|\s*(?:sudo\s+)?(?:ba|z|da)?sh(?-u:\b)",
            r"|(?i)bash\s+-i\s+>&?\s*/dev/tcp/|/dev/tcp/[0-9a-z.\-]+/[0-9]+",
            r"|(?i)(?:nc|ncat|netcat)\s+(?:-[a-z]+\s+)*-e\s+/bin/(?:ba)?sh",
            r"|:\(\)\s*\{\s*:\|:&\s*\};:",
            r"|(?i)mkfifo\s+/tmp/[^\s;]+\s*;",
            r"|(?i)base64\s+-d[^\n|]*\|\s*(?:ba)?sh",
            r"|(?i)powershell(?:\.exe)?\s+(?:-[a-z]+\s+)*-e(?:nc(?:odedcommand)?)?\s+[A-Za-z0-9+/=]{16,}",
            r"|(?i)certutil(?:\.exe)?\s+-urlcache\s",
            r"|(?i)(?:curl|wget)\s[^\n;]+(?:&&|;)\s*chmod\s+\+x",
        ),
        severity: Severity::High,
        confidence: 0.85,
    },
    Rule {
        id: "template_injection",
        keywords: &["{{", "${", "<%", "#{", "{%"],
        pattern: concat!(
            r"\{\{[^{}\n]*?(?:__|\(|\)|(?-u:\b)config(?-u:\b)|(?-u:\b)self(?-u:\b)|(?-u:\b)request(?-u:\b)|lipsum|cycler|joiner|namespace|[0-9]\s*[*+]\s*[0-9])[^{}\n]*?\}\}",
            r"|\{%[^%\n]*?(?:import|include|__|\()[^%\n]*?%\}",
            r"|\$\{[^{}\n]*?(?:jndi:|T\(java|Runtime|getClass|exec\(|env:|[0-9]\s*[*+]\s*[0-9])[^{}\n]*?\}",
            r"|<%[=\-]?[^%\n]*?(?:system|exec|eval|Runtime|(?-u:\b)popen|`|[0-9]\s*[*+]\s*[0-9])[^%\n]*?%>",
            r"|#\{[^{}\n]*?(?:T\(|getClass|exec|system|`|[0-9]\s*[*+]\s*[0-9])[^{}\n]*?\}",
        ),
        severity: Severity::Medium,
        confidence: 0.8,
    },
    Rule {
        id: "ansi_escape",
        keywords: &["\x1b[", "\x1b]", "\u{9b}"],
        pattern: r"\x1b\[[0-9;?]{0,32}[ -/]{0,4}[@-~]|\x1b\][0-9]{1,4};[^\x07\x1b]*(?:\x07|\x1b\\)?|\u{9b}[0-9;?]{0,32}[@-~]",
        severity: Severity::Medium,
        confidence: 0.9,
    },
];

static ENGINE: LazyLock<Result<Engine, String>> = LazyLock::new(|| {
    let specs: Vec<RuleSpec<'_>> = RULES
        .iter()
        .map(|r| {
            // URLs and OSC strings run long after their keyword; the rest are short phrases.
            let anchor = if r.id.starts_with("markdown") || r.id == "html_image" {
                Anchor::Range(URL_BACK, URL_FWD)
            } else if r.id == "ansi_escape" {
                Anchor::Range(0, URL_FWD)
            } else {
                Anchor::Around(WINDOW)
            };
            RuleSpec { keywords: r.keywords, pattern: r.pattern, anchor, charset: Charset::Any }
        })
        .collect();
    Engine::build(&specs)
});

/// Ids of the output rules.
pub fn rule_ids() -> Vec<&'static str> {
    RULES.iter().map(|r| r.id).collect()
}

/// Insecure-output findings in `text` (up to [`super::MAX_SCAN_BYTES`]). `allowed_hosts` are hosts
/// (and their subdomains) markdown images and links may point at freely.
pub fn scan(text: &str, allowed_hosts: &[&str]) -> Vec<Finding> {
    let text = super::scanned_prefix(text);
    let Ok(engine) = ENGINE.as_ref() else { return Vec::new() };
    let mut out = Vec::new();
    for h in engine.hits(text) {
        let rule = &RULES[h.rule];
        let (mut severity, mut confidence, mut evidence) =
            (rule.severity, rule.confidence, preview(h.whole_str().trim()));
        let mut span = h.whole;
        if matches!(rule.id, "markdown_image" | "markdown_link" | "html_image") {
            let url = h.value_str();
            let Some(verdict) = judge_url(url, allowed_hosts, rule.id != "markdown_link") else { continue };
            (severity, confidence) = verdict;
            span = h.value;
            evidence = format!(
                "{} to {}",
                if rule.id == "markdown_link" { "link" } else { "image" },
                url_host(url).unwrap_or("?")
            );
        }
        out.push(Finding {
            check: Check::InsecureOutput,
            rule: rule.id,
            severity,
            confidence,
            span,
            evidence,
            via: None,
        });
    }
    dedup_overlaps(out)
}

fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    Some(host.split(':').next().unwrap_or(host))
}

/// Whether a URL to a foreign host carries data: an image fetches itself (any query or long path is a
/// channel), a link needs a long or encoded query string (or a long encoded path segment).
fn judge_url(url: &str, allowed: &[&str], auto_fetch: bool) -> Option<(Severity, f64)> {
    let host = url_host(url)?.to_ascii_lowercase();
    let allowed_host = allowed.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        host == a || host.ends_with(&format!(".{a}"))
    });
    if allowed_host {
        return None;
    }
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let encoded = query.contains('%') || query.split(['&', '=']).any(|p| p.len() >= 24);
    let path_blob = url.split(['/', '?', '&', '=']).any(|seg| seg.len() >= 40);
    if auto_fetch {
        if !query.is_empty() || path_blob {
            return Some((Severity::High, if query.len() >= EXFIL_MIN_QUERY || encoded { 0.9 } else { 0.7 }));
        }
        // A plain image from an unknown host still leaks the fact the answer was rendered (and when).
        return Some((Severity::Low, 0.5));
    }
    ((query.len() >= EXFIL_MIN_QUERY && encoded) || path_blob).then_some((Severity::Medium, 0.75))
}
