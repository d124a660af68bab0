//! Measures how much stack validating with a schema needs per level of the output.
//!
//! The validator recurses once per level of the instance and, within one level, once per schema applied in place
//! to the same value (`$ref`, `allOf`, `not`, …). So the stack a validation needs grows with (output depth + 1) ×
//! (longest in-place chain + 1), and the scorer sizes the validation thread's stack from that product.
//!
//! jsonschema 0.33 overflowed the stack on in-place cycles such as `{"allOf": [{"$ref": "#"}]}`; 0.61 detects them
//! itself (a cycle applies no further constraint), so they are no longer refused here: a cycle counts as the
//! longest chain [`CYCLE_CHAIN`] for sizing.

use std::collections::HashMap;

use jsonschema::{Draft, Registry, Retrieve, Uri};
use serde_json::Value;

use super::quote;

/// The chain length assumed for a schema with an in-place cycle (or one the analysis cannot read); real schemas
/// stay in single digits.
const CYCLE_CHAIN: usize = 64;
/// jsonschema's base URI for a root schema without `$id`; the registry must be keyed the same way.
const DEFAULT_BASE_URI: &str = "json-schema:///";

/// Keywords whose subschemas apply to the same instance.
const IN_PLACE_ONE: &[&str] = &["not", "if", "then", "else"];
const IN_PLACE_LIST: &[&str] = &["allOf", "anyOf", "oneOf"];
const IN_PLACE_MAP: &[&str] = &["dependentSchemas", "dependencies"];
/// Keywords whose subschemas apply to a child of the instance (or to a property name).
const DESCEND_ONE: &[&str] = &[
    "items",
    "additionalItems",
    "contains",
    "additionalProperties",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
];
const DESCEND_LIST: &[&str] = &["items", "prefixItems"];
const DESCEND_MAP: &[&str] = &["properties", "patternProperties"];

#[derive(Default)]
struct Node {
    /// In-place successors, each with the keyword (or reference) that leads there, for the error message.
    in_place: Vec<(usize, String)>,
    dynamic_anchor: Option<String>,
    recursive_anchor: bool,
}

/// Returns the longest chain of schemas applied in place to one value (1 for a plain schema); [`CYCLE_CHAIN`] when
/// the schema has an in-place cycle or the analysis cannot be set up.
pub(super) fn in_place_chain(schema: &Value, draft: Draft) -> usize {
    match analyse(schema, draft) {
        Some(Ok(chain)) => chain,
        Some(Err(_)) | None => CYCLE_CHAIN,
    }
}

/// `None` when the analysis could not be set up; `Some` with the verdict otherwise.
fn analyse(schema: &Value, draft: Draft) -> Option<Result<usize, String>> {
    let base = draft.create_resource_ref(schema).id().unwrap_or(DEFAULT_BASE_URI).to_owned();
    // The registry borrows `schema` itself, so resolved references point into it and can be recognised by address.
    let registry = Registry::new().draft(draft).retriever(Offline).add(base.as_str(), schema).ok()?.prepare().ok()?;
    let root_resolver = registry.resolver(jsonschema::uri::from_str(base.trim_end_matches('#')).ok()?);

    let mut index: HashMap<*const Value, usize> = HashMap::from([(std::ptr::from_ref(schema), 0)]);
    let mut nodes = vec![Node::default()];
    let mut dynamic_refs: Vec<(usize, String)> = Vec::new();
    let mut recursive_refs: Vec<usize> = Vec::new();
    let mut pending = vec![(schema, root_resolver, 0)];
    while let Some((value, resolver, id)) = pending.pop() {
        let Value::Object(map) = value else { continue };
        let resolver = resolver.in_subresource(draft.create_resource_ref(value)).unwrap_or(resolver);
        let mut children = Vec::new();
        for (key, child) in map {
            let key = key.as_str();
            let in_place = match child {
                _ if IN_PLACE_ONE.contains(&key) => vec![child],
                Value::Array(list) if IN_PLACE_LIST.contains(&key) => list.iter().collect(),
                Value::Object(map) if IN_PLACE_MAP.contains(&key) => map.values().collect(),
                _ => Vec::new(),
            };
            children.extend(in_place.into_iter().map(|child| (child, resolver.clone(), Some(format!("`{key}`")))));
            let descend = match child {
                Value::Array(list) if DESCEND_LIST.contains(&key) => list.iter().collect(),
                _ if DESCEND_ONE.contains(&key) => vec![child],
                Value::Object(map) if DESCEND_MAP.contains(&key) => map.values().collect(),
                _ => Vec::new(),
            };
            children.extend(descend.into_iter().map(|child| (child, resolver.clone(), None)));
        }
        for keyword in ["$ref", "$dynamicRef"] {
            if let Some(reference) = map.get(keyword).and_then(Value::as_str) {
                if let Ok(resolved) = resolver.lookup(reference) {
                    let label = format!("`{keyword}` {}", quote(reference));
                    children.push((resolved.contents(), resolved.resolver().clone(), Some(label)));
                }
                if keyword == "$dynamicRef" {
                    let anchor = reference.rsplit_once('#').map_or("", |(_, anchor)| anchor);
                    dynamic_refs.push((id, anchor.to_owned()));
                }
            }
        }
        if map.contains_key("$recursiveRef") {
            if let Ok(resolved) = resolver.lookup_recursive_ref() {
                children.push((resolved.contents(), resolved.resolver().clone(), Some("`$recursiveRef`".to_owned())));
            }
            recursive_refs.push(id);
        }
        let node = nodes.get_mut(id)?;
        node.dynamic_anchor = map.get("$dynamicAnchor").and_then(Value::as_str).map(str::to_owned);
        node.recursive_anchor = map.get("$recursiveAnchor") == Some(&Value::Bool(true));

        for (child, child_resolver, label) in children {
            let next = nodes.len();
            let child_id = *index.entry(std::ptr::from_ref(child)).or_insert(next);
            if child_id == next {
                nodes.push(Node::default());
                pending.push((child, child_resolver, child_id));
            }
            if let Some(label) = label {
                nodes.get_mut(id)?.in_place.push((child_id, label));
            }
        }
    }
    // A dynamic reference may land on any schema carrying the matching anchor: assume it reaches all of them. One
    // hub node per anchor name keeps the edge count linear, however many references and anchors there are.
    let mut hubs: HashMap<Option<&str>, usize> = HashMap::new();
    let anchored: Vec<(usize, Option<&str>)> = nodes
        .iter()
        .enumerate()
        .flat_map(|(id, node)| {
            let dynamic = node.dynamic_anchor.as_deref().map(|anchor| (id, Some(anchor)));
            dynamic.into_iter().chain(node.recursive_anchor.then_some((id, None)))
        })
        .collect();
    let sources = dynamic_refs.iter().map(|(from, anchor)| (*from, Some(anchor.as_str())));
    let sources: Vec<(usize, Option<&str>)> = sources.chain(recursive_refs.iter().map(|from| (*from, None))).collect();
    let mut extra_edges = Vec::new();
    for (from, anchor) in sources {
        let next = nodes.len() + hubs.len();
        let hub = *hubs.entry(anchor).or_insert(next);
        let label = if anchor.is_some() { "`$dynamicRef`" } else { "`$recursiveRef`" };
        extra_edges.push((from, hub, label));
    }
    for (to, anchor) in anchored {
        if let Some(hub) = hubs.get(&anchor) {
            extra_edges.push((*hub, to, "a dynamic anchor"));
        }
    }
    let hub_count = hubs.len();
    nodes.extend((0..hub_count).map(|_| Node::default()));
    for (from, to, label) in extra_edges {
        nodes.get_mut(from)?.in_place.push((to, label.to_owned()));
    }
    Some(check_graph(&nodes))
}

/// Depth-first search without recursion (a hostile schema must not overflow this stack either): a back edge is an
/// endless loop, and the longest in-place chain is computed on the way back up.
fn check_graph(nodes: &[Node]) -> Result<usize, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        Open,
        Done(usize),
    }
    let mut state = vec![State::New; nodes.len()];
    let mut longest = 1;
    for start in 0..nodes.len() {
        if state[start] != State::New {
            continue;
        }
        let mut path = vec![(start, 0usize)];
        state[start] = State::Open;
        while let Some((node, next_edge)) = path.last_mut() {
            let edges = &nodes[*node].in_place;
            if let Some((target, label)) = edges.get(*next_edge) {
                *next_edge += 1;
                match state[*target] {
                    State::Open => {
                        return Err(format!(
                            "the schema recurses forever: {label} leads back to a schema that is already being \
                             applied to the same value, so validation would never end"
                        ));
                    }
                    State::New => {
                        state[*target] = State::Open;
                        path.push((*target, 0));
                    }
                    State::Done(_) => {}
                }
            } else {
                let depth = 1 + edges
                    .iter()
                    .map(|(target, _)| match state[*target] {
                        State::Done(depth) => depth,
                        _ => 0,
                    })
                    .max()
                    .unwrap_or(0);
                longest = longest.max(depth);
                state[*node] = State::Done(depth);
                path.pop();
            }
        }
    }
    Ok(longest)
}

/// Refuses every external resource: the appliance has no network access by design, so a remote `$ref` must be
/// inlined (under `$defs`) rather than fetched.
pub(super) struct Offline;

impl Retrieve for Offline {
    fn retrieve(&self, uri: &Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!(
            "remote references are not fetched (gavel runs without network access): {}; inline the referenced \
             schema under `$defs` instead",
            uri.as_str()
        )
        .into())
    }
}
