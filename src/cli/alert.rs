//! `prombox alert send`: alerts (JSON lines or an array) POSTed to Alertmanagers' API v2.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};

use super::Status;
use crate::alert;
use crate::http::client::Client;

const SEND_EXAMPLES: &str = "\
Each input line is one alert in Alertmanager's API v2 shape; a JSON array of them works
too. Every line is checked first: a bad one is reported as FILE:LINE:COLUMN and nothing
is sent. Exit 0 when every batch reached at least one Alertmanager (as Prometheus's
notifier counts), 2 otherwise.

Examples:
  One alert from a shell script:
    echo '{\"labels\":{\"alertname\":\"BackupFailed\",\"job\":\"backup\"},\"annotations\":{\"summary\":\"disk full\"}}' \\
      | prombox alert send --alertmanager http://am:9093
  Two Alertmanagers (a cluster pair), three retries each:
    prombox alert send --alertmanager am1:9093 --alertmanager am2:9093 --retries 3 alerts.jsonl
  To the Alertmanagers of a prometheus.yml, relabeled as Prometheus would:
    prombox alert send --config /etc/prometheus/prometheus.yml alerts.jsonl
  Straight to a webhook receiver, as Alertmanager would notify it (no Alertmanager):
    prombox rules eval --data data | prombox alert send --webhook http://127.0.0.1:5001/hook
  Resolve it:
    echo '{\"labels\":{\"alertname\":\"BackupFailed\",\"job\":\"backup\"},\"endsAt\":\"2026-12-01T10:00:00Z\"}' \\
      | prombox alert send --alertmanager am:9093";

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand, Debug)]
enum What {
    /// POST alerts to Alertmanagers' /api/v2/alerts, in batches.
    #[command(after_help = SEND_EXAMPLES)]
    Send(SendArgs),
}

#[derive(clap::Args, Debug)]
struct SendArgs {
    /// An Alertmanager, as http(s)://HOST:PORT[/PREFIX] (repeatable; http:// is assumed).
    #[arg(long, value_name = "URL", required_unless_present_any = ["config", "webhook"], conflicts_with = "webhook")]
    alertmanager: Vec<String>,
    /// Instead of an Alertmanager, POST Alertmanager's webhook payload (version 4, all
    /// alerts in one group) straight to this receiver (repeatable; each must take it).
    #[arg(long, value_name = "URL", conflicts_with = "config")]
    webhook: Vec<String>,
    /// A prometheus.yml: its alerting.alertmanagers (static_configs, with their scheme,
    /// path_prefix, timeout, credentials and TLS), alert_relabel_configs and external labels.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Alerts per request at most.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    #[command(flatten)]
    client: super::client::ClientArgs,
    /// Give up on an attempt after this long (Prometheus's default).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::parse_duration_arg)]
    timeout: i64,
    /// Retry this many times on connection errors and 5xx replies, with backoff.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: u32,
    /// A file of alerts, or `-` for standard input (the default).
    #[arg(value_name = "FILE|-")]
    input: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    match args.what {
        What::Send(a) => send(a),
    }
}

fn send(args: SendArgs) -> anyhow::Result<Status> {
    let (name, bytes) = match args.input.as_deref() {
        None => super::input::read_stdin_whole(
            "alert send: nothing to send: give a file or pipe alerts in",
        )?,
        Some(p) if p.as_os_str() == "-" => super::input::read_stdin_whole(
            "alert send: nothing to send: give a file or pipe alerts in",
        )?,
        Some(p) => (
            p.display().to_string(),
            std::fs::read(p).with_context(|| format!("alert send: {}", p.display()))?,
        ),
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "alert send: {name}: not UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    let alerts =
        alert::parse_alerts(&text).map_err(|e| anyhow::anyhow!("alert send: {name}:{e}"))?;
    if alerts.is_empty() {
        return Ok(Status::Ok);
    }
    if !args.webhook.is_empty() {
        return webhooks(&args, &alerts);
    }
    // One set per config entry (its own client and alerts), and the --alertmanager URLs.
    let mut sets: Vec<(Client, Vec<String>, Vec<alert::Alert>, Duration)> = Vec::new();
    let timeout = Duration::from_millis(args.timeout.max(1) as u64);
    if let Some(path) = &args.config {
        let cfg = crate::scrape::config::load_alerting(path)
            .map_err(|e| anyhow::anyhow!("alert send: {e}"))?;
        for am in &cfg.alertmanagers {
            let client = Client::new(&am.client)
                .map_err(|e| anyhow::anyhow!("alert send: {}: {e}", path.display()))?;
            let alerts = alert::relabel_alerts(
                &alerts,
                &cfg.external_labels,
                &cfg.alert_relabel_configs,
                &am.alert_relabel_configs,
            );
            let t = Duration::from_millis(am.timeout_ms.max(1) as u64);
            sets.push((client, alert::alertmanager_urls(am), alerts, t));
        }
    }
    if !args.alertmanager.is_empty() {
        let client =
            Client::new(&args.client.config()).map_err(|e| anyhow::anyhow!("alert send: {e}"))?;
        let urls = args
            .alertmanager
            .iter()
            .map(|u| alert::alerts_url(u))
            .collect();
        sets.push((client, urls, alerts, timeout));
    }
    // As the notifier counts: sent when some set delivered every batch it had.
    let mut delivered = false;
    let mut lost = Vec::new();
    for (client, urls, alerts, timeout) in &sets {
        let opts = alert::Options {
            batch: args.batch as usize,
            timeout: *timeout,
            retries: args.retries,
        };
        let report = alert::send(client, urls, alerts, &opts, &std::thread::sleep);
        for (batch, url, e) in &report.failures {
            eprintln!("prombox: alert send: {url}: batch {}: {e}", batch + 1);
        }
        if urls.is_empty() && !alerts.is_empty() {
            lost.push("a set of Alertmanagers has no targets".to_string());
        } else if report.undelivered > 0 {
            lost.push(format!(
                "{} of {} batches reached no Alertmanager",
                report.undelivered, report.batches
            ));
        } else {
            delivered = true;
        }
    }
    if !delivered {
        bail!("alert send: {}", lost.join("; "));
    }
    Ok(Status::Ok)
}

/// `--webhook`: one payload to each receiver, every one of which must take it.
fn webhooks(args: &SendArgs, alerts: &[alert::Alert]) -> anyhow::Result<Status> {
    let client =
        Client::new(&args.client.config()).map_err(|e| anyhow::anyhow!("alert send: {e}"))?;
    let body = alert::webhook_payload(alerts, "prombox", "", crate::model::time::now_ms());
    let opts = alert::Options {
        batch: usize::MAX,
        timeout: Duration::from_millis(args.timeout.max(1) as u64),
        retries: args.retries,
    };
    let mut failed = 0;
    for url in &args.webhook {
        let url = if url.contains("://") {
            url.clone()
        } else {
            format!("http://{url}")
        };
        if let Err(e) = alert::send_batch(&client, &url, &body, &opts, &std::thread::sleep) {
            eprintln!("prombox: alert send: {url}: {e}");
            failed += 1;
        }
    }
    if failed > 0 {
        bail!(
            "alert send: {failed} of {} webhooks did not take the alerts",
            args.webhook.len()
        );
    }
    Ok(Status::Ok)
}
