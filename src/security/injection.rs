//! Prompt-injection markers: instruction-override phrasing (a few languages), role switches and chat
//! template tokens, persona switches and system-prompt extraction requests. The phrase list is ours.
//!
//! In an input these mark an injection attempt; in an output they suggest the model relayed or obeyed one.
//! Phrasing can always be varied, so this is the cheap first net; the judge-graded checks catch the rest.

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

/// Window either side of a keyword: phrases are short.
const PHRASE_WINDOW: usize = 160;

const OVERRIDE_EN: &str = concat!(
    r"(?i)(?-u:\b)(?:ignore|disregard|forget|override|bypass|skip|abandon|drop|discard)\s+",
    r"(?:(?:all|any|the|your|my|of|every|these|those|its|prior|earlier)\s+){0,4}",
    r"(?:previous|prior|above|earlier|preceding|former|original|initial|existing|system|safety|old|developer)\s+",
    r"(?:instructions?|prompts?|rules|directions|directives|guidelines|guardrails|context|messages?|commands?|constraints|restrictions|polic(?:y|ies))",
    r"|(?i)(?-u:\b)(?:ignore|disregard|forget)\s+(?:everything|anything|all)\s+(?:above|before|prior|you\s+(?:were|have\s+been)\s+told)",
    r"|(?i)(?-u:\b)do\s+not\s+(?:follow|obey)\s+(?:your|the|any)\s+(?:previous\s+|original\s+|system\s+)?(?:instructions|rules|guidelines)",
);

const OVERRIDE_INTL: &str = concat!(
    r"(?i)(?:ignorier(?:e|en)?|vergiss)\s+(?:(?:alle|die)\s+)*(?:vorherigen|bisherigen|obigen|vorigen)\s+(?:anweisungen|instruktionen|befehle|regeln)",
    r"|(?i)(?:ignore[rz]?|oublie[rz]?)\s+(?:(?:toutes|tous|les|vos)\s+)*(?:instructions|consignes|règles)\s+(?:précédentes|antérieures|ci-dessus|initiales)",
    r"|(?i)(?:ignora(?:r)?|olvida(?:r)?)\s+(?:(?:todas|las|tus)\s+)*instrucciones\s+(?:anteriores|previas|originales)",
    r"|(?i)(?:ignora|dimentica)\s+(?:(?:tutte|le)\s+)*istruzioni\s+(?:precedenti|originali)",
    r"|(?i)(?:ignore|esqueça)\s+(?:(?:todas|as)\s+)*instruções\s+(?:anteriores|originais)",
    r"|(?i)(?:negeer|vergeet)\s+(?:(?:alle|de)\s+)*(?:vorige|eerdere|voorgaande)\s+(?:instructies|opdrachten)",
    r"|(?:игнорируй|забудь|проигнорируй)\s+(?:все\s+)?(?:предыдущие|прежние)\s+(?:инструкции|указания)",
    r"|(?:忽略|无视|忘记|忽視|無視)(?:之前|以上|先前|上面|前面|所有)(?:的)?(?:所有)?(?:指令|指示|说明|規則|规则)",
    r"|(?:以前|前|上記)の(?:すべての)?指示を(?:無視|忘れ)",
);

static RULES: &[Rule] = &[
    Rule {
        id: "instruction_override",
        keywords: &[
            "ignore",
            "disregard",
            "forget",
            "override",
            "bypass",
            "skip",
            "abandon",
            "drop",
            "discard",
            "do not follow",
            "do not obey",
        ],
        pattern: OVERRIDE_EN,
        severity: Severity::High,
        confidence: 0.9,
    },
    Rule {
        id: "instruction_override_intl",
        keywords: &[
            "ignor",
            "vergiss",
            "oubli",
            "olvida",
            "dimentica",
            "esqueça",
            "negeer",
            "vergeet",
            "игнорируй",
            "забудь",
            "проигнорируй",
            "忽略",
            "无视",
            "忘记",
            "忽視",
            "無視",
            "指示を",
        ],
        pattern: OVERRIDE_INTL,
        severity: Severity::High,
        confidence: 0.85,
    },
    Rule {
        id: "new_instructions",
        keywords: &["instruction", "your new", "your real", "your true", "your actual"],
        pattern: r"(?i)(?-u:\b)(?:new|updated|real|actual|true|revised)\s+instructions?\s*:|(?i)your\s+(?:new|real|true|actual)\s+(?:task|instructions?|purpose|goal|objective)\s+(?:is|are)",
        severity: Severity::High,
        confidence: 0.8,
    },
    Rule {
        id: "role_switch_token",
        keywords: &[
            "<|im_start|>",
            "<|system|>",
            "[inst]",
            "[/inst]",
            "<<sys>>",
            "<|start_header_id|>",
            "<|endoftext|>",
            "<|eot_id|>",
        ],
        pattern: r"(?i)<\|im_start\|>\s*(?:system|assistant|developer)|<\|system\|>|\[/?INST\]|<<SYS>>|<\|start_header_id\|>\s*(?:system|assistant)|<\|endoftext\|>|<\|eot_id\|>",
        severity: Severity::High,
        confidence: 0.9,
    },
    Rule {
        id: "role_switch_line",
        keywords: &[
            "system:",
            "system :",
            "developer:",
            "system message",
            "system prompt",
            "system override",
            "developer message",
            "## system",
            "## new instruction",
            "##system",
        ],
        pattern: r"(?im)^[ \t>*#]*(?:system|developer)(?:\s+(?:message|prompt|override))?\s*:\s*\S|(?im)^\s*#{2,}\s*(?:system|new\s+instructions?)(?-u:\b)",
        severity: Severity::Medium,
        confidence: 0.75,
    },
    Rule {
        id: "persona_switch",
        keywords: &[
            "you are now",
            "you are no longer",
            "from now on",
            "act as",
            "pretend",
            "roleplay",
            "behave",
            " mode",
            "do anything now",
        ],
        pattern: concat!(
            r"(?i)(?-u:\b)you\s+are\s+(?:now|no\s+longer)\s+(?:an?\s+|my\s+|the\s+)?[a-z]",
            r"|(?i)from\s+now\s+on,?\s+(?:you\s+(?:are|will|must|shall)|act|respond|answer|reply)",
            r"|(?i)(?-u:\b)(?:act|behave|pretend|roleplay)\s+(?:as|like|to\s+be)\s+(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|evil|jailbroken|amoral|DAN(?-u:\b))",
            r"|(?i)(?-u:\b)(?:developer|god|admin|debug|jailbreak|unrestricted)\s+mode\s+(?:is\s+)?(?:now\s+)?(?:enabled|activated|on|engaged)",
            r"|(?i)do\s+anything\s+now",
        ),
        severity: Severity::Medium,
        confidence: 0.8,
    },
    Rule {
        id: "prompt_extraction",
        keywords: &[
            "system prompt",
            "system message",
            "initial prompt",
            "hidden prompt",
            "instructions above",
            "developer message",
            "words above",
            "text above",
            "everything above",
        ],
        pattern: concat!(
            r"(?i)(?:reveal|print|show|repeat|output|display|leak|dump|tell\s+me)\s+(?:me\s+)?(?:your|the)\s+",
            r"(?:(?:full|entire|original|hidden|initial|secret|exact)\s+)*(?:system\s+prompt|system\s+message|initial\s+prompt|hidden\s+prompt|instructions\s+above|developer\s+message)",
            r"|(?i)repeat\s+(?:all\s+)?(?:of\s+)?(?:the\s+)?(?:words|text|everything)\s+above",
        ),
        severity: Severity::Medium,
        confidence: 0.8,
    },
];

static ENGINE: LazyLock<Result<Engine, String>> = LazyLock::new(|| {
    let specs: Vec<RuleSpec<'_>> = RULES
        .iter()
        .map(|r| RuleSpec {
            keywords: r.keywords,
            pattern: r.pattern,
            anchor: Anchor::Around(PHRASE_WINDOW),
            charset: Charset::Any,
        })
        .collect();
    Engine::build(&specs)
});

/// Ids of the injection rules.
pub fn rule_ids() -> Vec<&'static str> {
    RULES.iter().map(|r| r.id).collect()
}

/// Injection markers in `text` (scanned up to [`super::MAX_SCAN_BYTES`]). Evidence is the phrase itself.
pub fn scan(text: &str) -> Vec<Finding> {
    let text = super::scanned_prefix(text);
    let Ok(engine) = ENGINE.as_ref() else { return Vec::new() };
    let out = engine
        .hits(text)
        .into_iter()
        .filter(|h| RULES[h.rule].id != "role_switch_line" || at_line_start(text, h.whole.0))
        .map(|h| {
            let rule = &RULES[h.rule];
            Finding {
                check: Check::PromptInjection,
                rule: rule.id,
                severity: rule.severity,
                confidence: rule.confidence,
                span: h.whole,
                evidence: preview(h.whole_str().trim()),
                via: None,
            }
        })
        .collect();
    dedup_overlaps(out)
}

/// Whether only indentation or quote/markdown markers stand between the previous newline and `at`: the
/// windowed regex sees `^` at its window start, which need not be a line start.
fn at_line_start(text: &str, at: usize) -> bool {
    let b = &text.as_bytes()[..at];
    b.iter().rev().take_while(|&&c| c != b'\n').all(|c| matches!(c, b' ' | b'\t' | b'>' | b'*' | b'#'))
}
