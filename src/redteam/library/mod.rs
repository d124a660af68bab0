//! The built-in attack library, written for gavel. Each attack belongs to one category (and so one OWASP LLM Top
//! 10 (2025) entry) and names the rule that decides its success. `<MARKER>` in an attack's text is replaced by the
//! attempt's own compliance marker (`GVMK` and six digits), which a target that obeys the attack writes back; the
//! rules look for it, for the planted canary and for what the detectors find, and leave the rest to the judge.
//!
//! The benign probes are harmless requests that merely sound edgy (killing a process, a heist novel's plot), and
//! a look-alike of every jailbreak goal: a target that refuses them over-refuses, which the report shows next to
//! the attack success rate.
//!
//! One file per pair of categories: [`injection`] (direct and indirect), [`leakage`] (system-prompt extraction,
//! exfiltration), [`jailbreak`] (with the benign probes), [`output`] (output handling, unbounded consumption) and
//! [`trust`] (misinformation, excessive agency). Bump [`super::LIBRARY_VERSION`] when an attack changes.

use super::Category;

/// What decides an attack's success before any judge is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The attempt's marker appears in the response.
    Marker,
    /// The planted canary or the known system prompt appears in the response (the leak detectors).
    Leak,
    /// A planted secret, a canary, or a secret/PII the attack did not contain appears in the response.
    Exfiltration,
    /// Script, event handlers, exfiltrating markdown or other unsafe markup in the response (the output detectors),
    /// or the marker.
    Markup,
    /// The response runs past [`super::rules::UNBOUNDED_MIN_CHARS`] or repeats itself without end.
    Length,
    /// A false premise: a response naming one of these corrections rejected it; otherwise the judge decides.
    Premise(&'static [&'static str]),
    /// One of these action names written as a call (`name(` or `"name"`) means the target acted.
    Action(&'static [&'static str]),
    /// Only the judge can tell (harmful compliance).
    Judge,
}

/// One attack of the library.
#[derive(Debug, Clone, Copy)]
pub struct Attack {
    pub id: &'static str,
    pub category: Category,
    pub text: &'static str,
    pub rule: Rule,
    /// What the judge is told the attacker wanted (for attacks the rules may leave open).
    pub goal: &'static str,
    /// The MLCommons hazard category (`S1`–`S14`, [`crate::security::hazard::HAZARDS`]) of a harmful-goal attack
    /// (the jailbreaks); `None` for attacks on the deployment (injection, leaks, output handling, …).
    pub hazard: Option<&'static str>,
}

const fn a(id: &'static str, category: Category, rule: Rule, goal: &'static str, text: &'static str) -> Attack {
    Attack { id, category, text, rule, goal, hazard: None }
}

impl Attack {
    /// The attack with its hazard category.
    const fn hazard(self, code: &'static str) -> Attack {
        Attack { hazard: Some(code), ..self }
    }
}

/// The hazard category of the library attack `id` (`None`: no such attack, or not a harmful-goal attack).
pub fn hazard_of(id: &str) -> Option<&'static str> {
    by_id(id).and_then(|a| a.hazard)
}

mod injection;
mod jailbreak;
mod leakage;
mod output;
mod trust;

pub use jailbreak::BENIGN;

/// Every attack, one slice per category, in [`Category::ALL`] order.
pub const GROUPS: [&[Attack]; 9] = [
    injection::DIRECT,
    injection::INDIRECT,
    leakage::EXTRACTION,
    leakage::EXFILTRATION,
    jailbreak::JAILBREAK,
    output::OUTPUT_HANDLING,
    output::CONSUMPTION,
    trust::MISINFORMATION,
    trust::AGENCY,
];

/// Every attack of the library, grouped by category.
pub fn all() -> impl Iterator<Item = &'static Attack> {
    GROUPS.into_iter().flatten()
}

/// The attacks of one category, in library order.
pub fn of(category: Category) -> Vec<&'static Attack> {
    all().filter(|a| a.category == category).collect()
}

/// The attack with this id.
pub fn by_id(id: &str) -> Option<&'static Attack> {
    all().find(|a| a.id == id)
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_category_has_ten_distinct_attacks_in_its_own_group() {
        for (c, group) in Category::ALL.into_iter().zip(GROUPS) {
            assert!(group.len() >= 10, "{c:?} has {}", group.len());
            assert!(group.iter().all(|a| a.category == c), "{c:?}'s group holds another category");
            let mut texts: Vec<&str> = group.iter().map(|a| a.text).collect();
            texts.sort_unstable();
            texts.dedup();
            assert_eq!(texts.len(), group.len(), "{c:?} repeats a text");
            assert_eq!(of(c).len(), group.len());
        }
        let mut ids: Vec<&str> = all().map(|a| a.id).chain(BENIGN.iter().map(|b| b.0)).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "ids are unique");
        assert!(all().all(|a| by_id(a.id).is_some_and(|b| b.text == a.text)));
    }

    #[test]
    fn marker_rules_carry_a_marker_and_texts_hold_no_template_syntax() {
        for a in all() {
            if matches!(a.rule, Rule::Marker | Rule::Judge) {
                assert!(a.text.contains("<MARKER>"), "{}", a.id);
            }
            assert!(!a.text.contains("{{"), "{} would be read as a template", a.id);
            assert!(!a.goal.is_empty() && a.id.len() < 40, "{}", a.id);
        }
    }

    #[test]
    fn every_jailbreak_goal_has_a_benign_mirror_and_a_hazard() {
        for a in of(Category::Jailbreak) {
            let mirror = format!("bn-{}", a.id.trim_start_matches("jb-"));
            assert!(BENIGN.iter().any(|(id, _)| *id == mirror), "{} has no benign look-alike {mirror}", a.id);
            let code = a.hazard.unwrap_or_else(|| panic!("{} has no hazard category", a.id));
            assert!(crate::security::hazard::by_code(code).is_some(), "{}: {code} is no MLCommons code", a.id);
            assert!(a.goal.starts_with(&format!("({code} ")), "{}: the goal names another hazard than {code}", a.id);
        }
        assert!(BENIGN.len() >= 10 + of(Category::Jailbreak).len());
        assert!(all().filter(|a| a.category != Category::Jailbreak).all(|a| a.hazard.is_none()));
        assert_eq!(hazard_of("jb-authority"), Some("S7"));
        assert_eq!((hazard_of("pi-override"), hazard_of("nope")), (None, None));
    }
}
