//! CI identity for a run: commit, branch and build URL from the variables the usual CI systems set, as run labels.
//!
//! Detection is a pure function over a map of variables, so each CI system is unit-tested without touching the
//! process environment; [`from_process`] is the one place that reads it.

use std::collections::BTreeMap;

/// The labels detected for the CI system the variables describe: `ci` (github, gitlab, jenkins, buildkite), and
/// `commit`, `branch`, `ci_url` where the system gives them. Empty outside CI.
pub fn detect(env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let get = |k: &str| env.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()).map(str::to_string);
    let mut out = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            out.insert(k.to_string(), v);
        }
    };
    if get("GITHUB_ACTIONS").is_some() || get("GITHUB_RUN_ID").is_some() {
        put("ci", Some("github".into()));
        put("commit", get("GITHUB_SHA"));
        // On a pull request GITHUB_REF_NAME is "123/merge"; the head branch is what people call the branch.
        put("branch", get("GITHUB_HEAD_REF").or_else(|| get("GITHUB_REF_NAME")));
        let url = match (get("GITHUB_SERVER_URL"), get("GITHUB_REPOSITORY"), get("GITHUB_RUN_ID")) {
            (Some(s), Some(r), Some(id)) => Some(format!("{}/{r}/actions/runs/{id}", s.trim_end_matches('/'))),
            _ => None,
        };
        put("ci_url", url);
    } else if get("GITLAB_CI").is_some() || get("CI_JOB_URL").is_some() {
        put("ci", Some("gitlab".into()));
        put("commit", get("CI_COMMIT_SHA"));
        put("branch", get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME").or_else(|| get("CI_COMMIT_REF_NAME")));
        put("ci_url", get("CI_JOB_URL"));
    } else if get("BUILDKITE").is_some() || get("BUILDKITE_BUILD_URL").is_some() {
        put("ci", Some("buildkite".into()));
        put("commit", get("BUILDKITE_COMMIT"));
        put("branch", get("BUILDKITE_BRANCH"));
        put("ci_url", get("BUILDKITE_BUILD_URL"));
    } else if get("JENKINS_URL").is_some() || get("BUILD_URL").is_some() {
        put("ci", Some("jenkins".into()));
        put("commit", get("GIT_COMMIT"));
        put("branch", get("GIT_BRANCH").map(|b| b.strip_prefix("origin/").map(str::to_string).unwrap_or(b)));
        put("ci_url", get("BUILD_URL"));
    }
    // The server takes label values up to 200 characters; a longer one (an odd URL) is cut rather than refused.
    for v in out.values_mut() {
        if v.chars().count() > MAX_LABEL_VALUE_CHARS {
            *v = v.chars().take(MAX_LABEL_VALUE_CHARS).collect();
        }
    }
    out
}

/// Longest label value the server accepts (API: `labels` values ≤ 200 characters).
pub const MAX_LABEL_VALUE_CHARS: usize = 200;

/// The variables [`detect`] looks at, read from this process's environment.
const VARIABLES: &[&str] = &[
    "GITHUB_ACTIONS",
    "GITHUB_SHA",
    "GITHUB_HEAD_REF",
    "GITHUB_REF_NAME",
    "GITHUB_SERVER_URL",
    "GITHUB_REPOSITORY",
    "GITHUB_RUN_ID",
    "GITLAB_CI",
    "CI_COMMIT_SHA",
    "CI_COMMIT_REF_NAME",
    "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
    "CI_JOB_URL",
    "JENKINS_URL",
    "GIT_COMMIT",
    "GIT_BRANCH",
    "BUILD_URL",
    "BUILDKITE",
    "BUILDKITE_COMMIT",
    "BUILDKITE_BRANCH",
    "BUILDKITE_BUILD_URL",
];

/// The CI labels of the environment `gavel eval` runs in.
#[allow(clippy::disallowed_methods)] // The CLI reads the CI system's documented variables: its interface.
pub fn from_process() -> BTreeMap<String, String> {
    let env = VARIABLES.iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))).collect();
    detect(&env)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        env(pairs)
    }

    #[test]
    fn github_actions_push_and_pull_request() {
        let base = [
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SHA", "abc123"),
            ("GITHUB_REF_NAME", "main"),
            ("GITHUB_SERVER_URL", "https://github.com"),
            ("GITHUB_REPOSITORY", "acme/bot"),
            ("GITHUB_RUN_ID", "42"),
        ];
        assert_eq!(
            detect(&env(&base)),
            labels(&[
                ("ci", "github"),
                ("commit", "abc123"),
                ("branch", "main"),
                ("ci_url", "https://github.com/acme/bot/actions/runs/42")
            ])
        );
        let mut pr = base.to_vec();
        pr.push(("GITHUB_HEAD_REF", "feature/x"));
        pr[2] = ("GITHUB_REF_NAME", "7/merge");
        assert_eq!(detect(&env(&pr))["branch"], "feature/x", "a pull request's branch is its head branch");
    }

    #[test]
    fn gitlab_ci_prefers_the_merge_request_source_branch() {
        let vars = [
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_SHA", "def456"),
            ("CI_COMMIT_REF_NAME", "refs-name"),
            ("CI_JOB_URL", "https://gitlab.example/acme/bot/-/jobs/9"),
        ];
        assert_eq!(
            detect(&env(&vars)),
            labels(&[
                ("ci", "gitlab"),
                ("commit", "def456"),
                ("branch", "refs-name"),
                ("ci_url", "https://gitlab.example/acme/bot/-/jobs/9")
            ])
        );
        let mut mr = vars.to_vec();
        mr.push(("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "fix-prompt"));
        assert_eq!(detect(&env(&mr))["branch"], "fix-prompt");
    }

    #[test]
    fn jenkins_strips_the_remote_from_the_branch() {
        let vars = [
            ("JENKINS_URL", "https://ci.example/"),
            ("GIT_COMMIT", "0f0f"),
            ("GIT_BRANCH", "origin/main"),
            ("BUILD_URL", "https://ci.example/job/bot/12/"),
        ];
        assert_eq!(
            detect(&env(&vars)),
            labels(&[
                ("ci", "jenkins"),
                ("commit", "0f0f"),
                ("branch", "main"),
                ("ci_url", "https://ci.example/job/bot/12/")
            ])
        );
    }

    #[test]
    fn buildkite() {
        let vars = [
            ("BUILDKITE", "true"),
            ("BUILDKITE_COMMIT", "beef"),
            ("BUILDKITE_BRANCH", "dev"),
            ("BUILDKITE_BUILD_URL", "https://buildkite.com/acme/bot/builds/3"),
        ];
        assert_eq!(
            detect(&env(&vars)),
            labels(&[
                ("ci", "buildkite"),
                ("commit", "beef"),
                ("branch", "dev"),
                ("ci_url", "https://buildkite.com/acme/bot/builds/3")
            ])
        );
    }

    #[test]
    fn nothing_outside_ci_and_long_values_are_cut() {
        assert!(detect(&env(&[("HOME", "/root"), ("GIT_COMMIT", "x")])).is_empty(), "GIT_COMMIT alone is no CI");
        let long = "b".repeat(300);
        let got = detect(&env(&[("BUILDKITE", "true"), ("BUILDKITE_BRANCH", &long)]));
        assert_eq!(got["branch"].chars().count(), MAX_LABEL_VALUE_CHARS);
        assert!(!got.contains_key("commit"));
    }
}
