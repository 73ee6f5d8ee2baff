//! `prombox labels`: label names, or one label's values (the API's `/api/v1/labels` and
//! `/api/v1/label/NAME/values`).

use std::collections::BTreeSet;
use std::io::{self, BufWriter, Write};

use anyhow::Context;

use super::series::{matching, ListFormat, Scope};
use super::{parse_selector_arg, Status};
use crate::model::Matcher;
use crate::storage::Db;

const EXAMPLES: &str = "\
Examples:
  prombox labels --data data                     # every label name
  prombox labels --data data job                 # every value of job
  prombox labels --data data __name__ --match '{job=\"node\"}' --format json";

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// List this label's values instead of the label names.
    #[arg(value_name = "NAME")]
    name: Option<String>,
    /// Only series matching this selector (repeatable: any).
    #[arg(long = "match", value_name = "SELECTOR", value_parser = parse_selector_arg)]
    matches: Vec<Vec<Matcher>>,
    #[command(flatten)]
    scope: Scope,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let sc = &args.scope;
    let db = Db::open(&sc.data.path).context("labels")?;
    let window = sc.window.resolve(crate::model::time::now_ms());
    let set = matching(&db, &args.matches, window).context("labels")?;
    let mut values = BTreeSet::new();
    for l in &set {
        for lb in l {
            match &args.name {
                Some(n) if *n == lb.name => {
                    values.insert(lb.value.clone());
                }
                Some(_) => {}
                None => {
                    values.insert(lb.name.clone());
                }
            }
        }
    }
    let mut out = BufWriter::new(io::stdout().lock());
    match sc.format {
        ListFormat::Text => {
            for v in &values {
                writeln!(out, "{v}")?;
            }
        }
        ListFormat::Json => {
            let v = serde_json::json!({"status": "success", "data": values});
            serde_json::to_writer(&mut out, &v)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(Status::Ok)
}
