//! Where an evaluation comes from: the evaluation file (`-c`, or ./gavel.eval.toml), a promptfoo config
//! (`--from-promptfoo`), and the flags over either; and the dataset it names.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::evalfile::{self, Plan, DEFAULT_FILE};
use super::{ci_env, promptfoo, usage, EvalArgs};
use crate::runs::dataset::{self, Format};
use crate::runs::model::Item;

#[allow(clippy::disallowed_methods)] // The variable `api_key_env` names is the user's documented interface.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn dir_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The merged plan, or `None` when there is nothing to run (`--print-eval-file` printed the file).
pub(crate) fn plan(args: &EvalArgs) -> anyhow::Result<Option<Plan>> {
    let file = if let Some(pf) = &args.from_promptfoo {
        let conv = promptfoo::convert_file(pf)?;
        for n in &conv.notes {
            eprintln!("gavel eval: promptfoo: note: {n}");
        }
        if args.print_eval_file {
            print!("{}", conv.to_toml()?);
            if !conv.unmapped.is_empty() {
                eprintln!("gavel eval: promptfoo: {}", promptfoo::describe_unmapped(&conv.unmapped));
            }
            return Ok(None);
        }
        if !conv.unmapped.is_empty() {
            let list = promptfoo::describe_unmapped(&conv.unmapped);
            if !args.skip_unmapped {
                return Err(usage(format!(
                    "{list}\nrefusing to run without them: pass --skip-unmapped to run the rest"
                )));
            }
            eprintln!("gavel eval: promptfoo: skipped (--skip-unmapped): {list}");
        }
        Some((conv.file, dir_of(pf)))
    } else {
        let path = match &args.eval_file {
            Some(p) => Some(p.clone()),
            None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.is_file()),
        };
        match path {
            Some(p) => Some((evalfile::load(&p)?, dir_of(&p))),
            None => None,
        }
    };
    let ci = if args.no_ci_labels { Default::default() } else { ci_env::from_process() };
    evalfile::plan(args, file, ci, &env).map(Some)
}

/// The items of a run: parsed from files (exact numbers kept), written inline, or stored on the server.
pub(crate) enum Dataset {
    Items(Vec<Item>),
    Raw(Vec<Value>),
    Stored,
}

impl Dataset {
    /// For `--local`, which scores items it holds.
    pub(crate) fn into_items(self) -> anyhow::Result<Vec<Item>> {
        match self {
            Dataset::Items(items) => Ok(items),
            Dataset::Raw(values) => dataset::items_from_values(values).map_err(|e| {
                usage(format!("the items: {e} (--local scores outputs the items have; it cannot produce them)"))
            }),
            Dataset::Stored => Err(usage("--local needs dataset files: a stored dataset_id is on the server")),
        }
    }

    /// The run body's `dataset` (None for a stored dataset).
    pub(crate) fn into_json(self) -> anyhow::Result<Option<Value>> {
        match self {
            Dataset::Items(items) => Ok(Some(serde_json::to_value(items)?)),
            Dataset::Raw(values) => Ok(Some(Value::Array(values))),
            Dataset::Stored => Ok(None),
        }
    }
}

/// Read the plan's dataset files (concatenated in order) or take its inline items.
pub(crate) fn load_dataset(plan: &Plan) -> anyhow::Result<Dataset> {
    if !plan.inline_items.is_empty() {
        return Ok(Dataset::Raw(plan.inline_items.clone()));
    }
    if plan.datasets.is_empty() {
        return Ok(Dataset::Stored);
    }
    let mut items = Vec::new();
    for path in &plan.datasets {
        let bytes = std::fs::read(path).map_err(|e| usage(format!("reading {}: {e}", path.display())))?;
        let parsed =
            dataset::parse(Format::from_path(path), &bytes).map_err(|e| usage(format!("{}: {e}", path.display())))?;
        items.extend(parsed);
        if items.len() > dataset::MAX_ITEMS {
            return Err(usage(format!("the datasets hold more than {} items (MAX_ITEMS)", dataset::MAX_ITEMS)));
        }
    }
    Ok(Dataset::Items(items))
}
