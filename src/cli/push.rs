//! `prombox push`: push an exposition, or metrics named on the command line, to a
//! Pushgateway (or `prombox gateway`); or delete a group.

use std::time::Duration;

use anyhow::{bail, Context};

use super::{parse_label, Status};
use crate::expfmt::family::Kind;
use crate::http::client::Client;
use crate::push::{self, Action, Body, GroupingKey};

const EXAMPLES: &str = "\
The body is checked before anything is sent: a bad file is refused with
FILE:LINE:COLUMN and nothing reaches the gateway. Exit 0 when the gateway accepted
the push, 2 with its message otherwise.

Examples:
  From a shell script (no heredoc needed):
    prombox push http://gw:9091 --job backup duration_seconds=12.5 \\
      last_success_timestamp_seconds=$(date +%s) --type gauge
  A file, into the group {job=\"node\", instance=\"db1\"}:
    prombox push http://gw:9091 --job node --label instance=db1 node.prom
  A crontab line, replacing only the pushed metric names:
    */5 * * * * /usr/local/bin/job.sh | prombox push gw:9091 --job batch --add
  Delete a group, or (prombox gateway) every group of a job:
    prombox push http://gw:9091 --job backup --label instance=db1 --delete
    prombox push http://gw:9091 --job backup --delete --partial";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum TypeArg {
    Gauge,
    Counter,
    Untyped,
}

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// The gateway, as http(s)://HOST:PORT (http:// is assumed without a scheme).
    #[arg(value_name = "URL")]
    url: String,
    /// The job label of the group.
    #[arg(long)]
    job: String,
    /// A further grouping label (repeatable).
    #[arg(long = "label", alias = "grouping", value_name = "K=V", value_parser = parse_label)]
    labels: Vec<(String, String)>,
    /// POST: replace only the metric names pushed (default: PUT, replace the group).
    #[arg(long, conflicts_with = "delete")]
    add: bool,
    /// DELETE the group.
    #[arg(long)]
    delete: bool,
    /// With --delete: every group whose key holds the given labels (prombox gateway only).
    #[arg(long, requires = "delete")]
    partial: bool,
    /// The group expires this long after the push (prombox gateway only).
    #[arg(long, value_name = "DURATION")]
    ttl: Option<String>,
    /// The type of NAME=VALUE metrics.
    #[arg(long = "type", value_enum, default_value_t = TypeArg::Untyped)]
    kind: TypeArg,
    /// The HELP text of NAME=VALUE metrics.
    #[arg(long, value_name = "TEXT")]
    help_text: Option<String>,
    #[command(flatten)]
    client: super::client::ClientArgs,
    /// Give up on an attempt after this long.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::parse_duration_arg)]
    timeout: i64,
    /// Retry this many times on connection errors and 5xx replies, with backoff.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: u32,
    /// An exposition file, `-` for standard input (the default), or NAME=VALUE metrics.
    #[arg(value_name = "FILE|-|NAME=VALUE")]
    inputs: Vec<String>,
}

/// The body from the inputs: one file or stdin, or NAME=VALUE arguments.
fn body(args: &Args) -> anyhow::Result<Body> {
    let pairs = !args.inputs.is_empty()
        && args
            .inputs
            .iter()
            .all(|i| i.contains('=') && !std::path::Path::new(i).exists());
    if pairs {
        let kind = match args.kind {
            TypeArg::Gauge => Kind::Gauge,
            TypeArg::Counter => Kind::Counter,
            TypeArg::Untyped => Kind::Untyped,
        };
        return push::body_from_pairs(&args.inputs, kind, args.help_text.as_deref())
            .map_err(|e| anyhow::anyhow!("{e}"));
    }
    if args.help_text.is_some() {
        bail!("--help-text applies to NAME=VALUE metrics only");
    }
    let (name, bytes) = match args.inputs.as_slice() {
        [] => super::input::read_stdin_whole(
            "nothing to push: give a file, NAME=VALUE metrics, or pipe an exposition in",
        )?,
        [one] if one == "-" => super::input::read_stdin_whole(
            "nothing to push: give a file, NAME=VALUE metrics, or pipe an exposition in",
        )?,
        [one] => (
            one.clone(),
            std::fs::read(one).with_context(|| format!("{one}: cannot read"))?,
        ),
        _ => bail!("give one exposition file (or -), or NAME=VALUE metrics only"),
    };
    push::body_from_exposition(bytes).map_err(|e| anyhow::anyhow!("{name}:{e}"))
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    if args.job.is_empty() {
        bail!("--job must not be empty");
    }
    let action = if args.delete {
        Action::Delete
    } else if args.add {
        Action::Add
    } else {
        Action::Replace
    };
    if action == Action::Delete && !args.inputs.is_empty() {
        bail!("--delete sends no body: drop the inputs");
    }
    if let Some(t) = &args.ttl {
        crate::model::time::parse_model_duration(t)
            .map_err(|e| anyhow::anyhow!("--ttl {t:?}: {e}"))?;
    }
    let body = match action {
        Action::Delete => None,
        _ => Some(body(&args)?),
    };
    let key = GroupingKey::new(&args.job, &args.labels);
    let order: Vec<String> = args.labels.iter().map(|(k, _)| k.clone()).collect();
    let url = push::url(&args.url, &key, &order, args.partial, args.ttl.as_deref());
    let cfg = args.client.config();
    let client = Client::new(&cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
    let req = push::Request {
        url: &url,
        action,
        body: body.as_ref(),
        timeout: Duration::from_millis(args.timeout.max(1) as u64),
        retries: args.retries,
        partial: args.partial,
    };
    match push::send(&client, &req, &std::thread::sleep) {
        Ok(outcome) => {
            if super::chatty(false) {
                if let Some(n) = outcome.deleted.filter(|_| args.partial) {
                    eprintln!("prombox: push: deleted {n} group(s)");
                }
            }
            Ok(Status::Ok)
        }
        Err(e) => bail!("push: {}: {e}", display_base(&args.url)),
    }
}

/// The gateway's address as the user gave it, with a scheme.
fn display_base(url: &str) -> String {
    let u = if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    };
    u.trim_end_matches('/').to_string()
}
