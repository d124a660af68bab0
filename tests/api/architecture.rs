//! The house rules that keep the layers one-way, checked on the source itself: no module imports a module that
//! (directly or through others) imports it, and actix stays in `http/` and `app.rs`. A module is a file under
//! `src/`; an edge is a `crate::`, `super::` or `self::` path in it that names another module. Test modules
//! (`#[cfg(test)] mod tests { … }` at the end of a file, and `tests_*.rs` files) are left out: tests may look anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/runs/engine.rs` → `runs::engine`; `src/runs/mod.rs` → `runs`; `src/lib.rs` → ``.
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts.join("::")
}

/// The code of a file without comments, string contents or its trailing test module.
fn code_of(text: &str) -> String {
    let cut = text.find("#[cfg(test)]\nmod tests").map_or(text, |i| &text[..i]);
    let mut out = String::with_capacity(cut.len());
    let (mut in_str, mut chars) = (false, cut.chars().peekable());
    while let Some(c) = chars.next() {
        if in_str {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Every path that starts with `crate`, `super` or `self`, with `{a, b::c}` groups expanded one level.
fn paths(code: &str) -> Vec<Vec<String>> {
    let bytes: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < bytes.len() {
        if !ident(bytes[i]) || (i > 0 && (ident(bytes[i - 1]) || bytes[i - 1] == ':')) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && ident(bytes[i]) {
            i += 1;
        }
        let first: String = bytes[start..i].iter().collect();
        if !matches!(first.as_str(), "crate" | "super" | "self") {
            continue;
        }
        let mut segs = vec![first];
        let mut grouped = false;
        loop {
            if i + 1 < bytes.len() && bytes[i] == ':' && bytes[i + 1] == ':' {
                i += 2;
                if i < bytes.len() && bytes[i] == '{' {
                    let end = (i..bytes.len()).find(|&j| bytes[j] == '}').unwrap_or(bytes.len());
                    let group: String = bytes[i + 1..end].iter().collect();
                    for member in group.split(',') {
                        let mut p = segs.clone();
                        p.extend(member.split_whitespace().next().unwrap_or("").split("::").map(str::to_string));
                        out.push(p);
                    }
                    i = end;
                    grouped = true;
                    break;
                }
                let s = i;
                while i < bytes.len() && ident(bytes[i]) {
                    i += 1;
                }
                segs.push(bytes[s..i].iter().collect());
            } else {
                break;
            }
        }
        if !grouped {
            out.push(segs);
        }
    }
    out
}

/// The longest module named by `path` as seen from module `from`.
fn resolve(from: &str, path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    let mut base: Vec<String> = if from.is_empty() { vec![] } else { from.split("::").map(str::to_string).collect() };
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => base.clear(),
        Some("self") => {}
        Some("super") => {
            base.pop();
        }
        _ => return None,
    }
    rest = &rest[1..];
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    let mut best = None;
    for n in 0..=rest.len() {
        let cand: Vec<&str> = base.iter().map(String::as_str).chain(rest[..n].iter().map(String::as_str)).collect();
        let name = cand.join("::");
        if modules.contains(&name) {
            best = Some(name);
        }
    }
    best
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.retain(|f| !f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("tests_")));
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let from = module_of(f);
        let code = code_of(&std::fs::read_to_string(f).unwrap());
        let edges = g.entry(from.clone()).or_default();
        for p in paths(&code) {
            if let Some(to) = resolve(&from, &p, &modules) {
                // A module naming itself or one of its ancestors' items through `crate::` is not an edge to a
                // caller when the target is its own parent: only real cross-module uses count.
                if to != from && !to.is_empty() {
                    edges.insert(to);
                }
            }
        }
    }
    g
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct S<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut S<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        if let Some(ws) = s.g.get(v) {
            for w in ws {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(lw));
                } else if s.on.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low[v];
                    s.low.insert(v, lv.min(iw));
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s =
        S { g, index: BTreeMap::new(), low: BTreeMap::new(), stack: vec![], on: BTreeSet::new(), next: 0, out: vec![] };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v.as_str());
        }
    }
    s.out
}

#[test]
fn no_module_imports_a_module_that_imports_it() {
    let g = graph();
    assert!(g.len() > 40, "the source tree was not found or not read: {} modules", g.len());
    let found = cycles(&g);
    let explain: Vec<String> = found
        .iter()
        .map(|c| {
            let edges: Vec<String> = c
                .iter()
                .flat_map(|a| c.iter().filter(|b| g[a].contains(*b)).map(move |b| format!("{a} -> {b}")))
                .collect();
            format!("{c:?}: {}", edges.join(", "))
        })
        .collect();
    assert!(found.is_empty(), "import cycles:\n{}", explain.join("\n"));
}

#[test]
fn the_checker_sees_a_cycle_when_there_is_one() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    g.entry("d".into()).or_default().insert("a".into());
    assert_eq!(cycles(&g), vec![vec!["a".to_string(), "b".into(), "c".into()]]);
    let mods: BTreeSet<String> =
        ["runs", "runs::engine", "runs::sink", "domain"].into_iter().map(String::from).collect();
    let p = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
    assert_eq!(resolve("runs::engine", &p("super::sink::Sink"), &mods).as_deref(), Some("runs::sink"));
    assert_eq!(resolve("runs::engine", &p("crate::domain::Item"), &mods).as_deref(), Some("domain"));
    let code = code_of("use crate::{domain::Item, runs::sink};\n// crate::nothing\nlet s = \"crate::runs\";");
    assert_eq!(paths(&code).len(), 2, "{:?}", paths(&code));
}

#[test]
fn actix_stays_in_the_http_layer() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| {
            let m = module_of(f);
            !(m == "http" || m.starts_with("http::") || m == "app")
        })
        .filter(|f| code_of(&std::fs::read_to_string(f).unwrap()).contains("actix"))
        .map(|f| f.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "actix outside http/ and app.rs: {offenders:?}");
}
