//! `prombox gateway`: a Pushgateway whose acknowledged pushes survive a crash.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};

use super::Status;
use crate::gateway::http::{self as api, Exposition, Options};
use crate::gateway::{store, Gateway};
use crate::http::server::{Limits, Server, SharedTls};
use crate::http::webconfig::{Current, Refresh, Watched};

const EXAMPLES: &str = "\
A drop-in for the Pushgateway: the same API (PUT/POST/DELETE on
/metrics/job/<JOB>{/<LABEL>/<VALUE>}, text, OpenMetrics and protobuf bodies, the same
checks and messages, /api/v1/metrics and /api/v1/status). A 2xx means the push is on
disk in DIR: after kill -9 and a restart every acknowledged push is served. Scrape it
with honor_labels: true.

Examples:
  prombox gateway --data /var/lib/prombox/gateway
  prombox gateway --listen :9091 --data gw --ttl 1h --enable-admin-api
  Push to it from a shell script:
    prombox push http://127.0.0.1:9091 --job backup last_success=$(date +%s)
  Read the groups without a server (from cron, into a data dir):
    prombox gateway --once --data gw | prombox store --data data";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OnceFormat {
    Text,
    Openmetrics,
}

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Address to listen on (`:9091` listens on every interface).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9091")]
    listen: String,
    /// The state directory (created if missing).
    #[arg(
        long = "data",
        value_name = "DIR",
        env = "PROMBOX_GATEWAY_DATA",
        hide_env_values = true
    )]
    data: PathBuf,
    /// Expire groups not pushed to within this long (a push may set its own TTL with
    /// `?ttl=` or an `X-Prombox-TTL` header).
    #[arg(long, value_name = "DURATION")]
    ttl: Option<String>,
    /// Serve PUT /api/v1/admin/wipe (deletes every group).
    #[arg(long)]
    enable_admin_api: bool,
    /// The largest request body, after gzip decoding.
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = super::parse_size_arg)]
    max_body: u64,
    /// Groups held at most; a push creating one more is refused (429).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_groups: usize,
    /// Series in one group at most; a larger push is refused (413).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    max_series: usize,
    /// TLS, basic auth and response headers, in the web config file format of Prometheus's
    /// servers (tls_server_config, basic_auth_users with bcrypt hashes, http_server_config).
    #[arg(long = "web.config.file", value_name = "FILE")]
    web_config: Option<PathBuf>,
    /// Serve OpenMetrics to scrapes that prefer it (Prometheus does). The Pushgateway serves
    /// only text and protobuf; with OpenMetrics a counter not named *_total gains the suffix.
    #[arg(long)]
    enable_openmetrics: bool,
    /// Open connections at most; more are answered 503.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,
    /// Print the groups in DIR as an exposition and exit (no server; safe beside one).
    #[arg(long)]
    once: bool,
    /// The format of --once.
    #[arg(long, value_enum, default_value_t = OnceFormat::Text, requires = "once")]
    format: OnceFormat,
}

fn listen_addr(s: &str) -> String {
    if s.starts_with(':') {
        format!("0.0.0.0{s}")
    } else {
        s.to_string()
    }
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    let ttl_ms = match &args.ttl {
        Some(t) => Some(
            crate::model::time::parse_model_duration(t)
                .map_err(|e| anyhow::anyhow!("--ttl {t:?}: {e}"))?,
        ),
        None => None,
    };
    if args.once {
        let groups = crate::gateway::read_dir_groups(&args.data)
            .with_context(|| format!("gateway: {}", args.data.display()))?;
        let format = match args.format {
            OnceFormat::Text => Exposition::Text,
            OnceFormat::Openmetrics => Exposition::OpenMetrics1,
        };
        api::write_exposition(groups, format, &mut std::io::stdout().lock())?;
        return Ok(Status::Ok);
    }
    // Worker threads parse pushes; glibc would give each its own arena and keep what they
    // freed. Two arenas keep the gateway's memory near what it holds.
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only tunes the allocator; called before any worker thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    let limits = store::Limits {
        max_groups: args.max_groups,
        max_series_per_group: args.max_series,
    };
    let (gw, truncated) =
        Gateway::open(&args.data, limits, ttl_ms).map_err(|e| anyhow::anyhow!("gateway: {e}"))?;
    let (web, tls) = match &args.web_config {
        Some(p) => Watched::open(p).map_err(|e| anyhow::anyhow!("gateway: {e}"))?,
        None => (Watched::none(), None),
    };
    let addr = listen_addr(&args.listen);
    let mut server =
        Server::bind(&addr).with_context(|| format!("gateway: cannot listen on {addr}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let shared_tls = tls.map(|t| Arc::new(std::sync::RwLock::new(t)));
    if let Some(t) = &shared_tls {
        server = server.with_tls(t.clone());
    }
    let local = server.local_addr()?;
    if truncated > 0 {
        eprintln!(
            "prombox: gateway: cut {truncated} bytes of an unfinished write from the end of the log"
        );
    }
    eprintln!(
        "prombox: gateway: listening on {scheme}://{local} (state in {})",
        args.data.display()
    );
    let opts = Options {
        admin_api: args.enable_admin_api,
        max_body: args.max_body,
        openmetrics: args.enable_openmetrics,
        flags: vec![
            ("listen".into(), args.listen.clone()),
            ("data".into(), args.data.display().to_string()),
            ("ttl".into(), args.ttl.clone().unwrap_or_default()),
            ("enable-admin-api".into(), args.enable_admin_api.to_string()),
            ("max-body".into(), args.max_body.to_string()),
            ("max-groups".into(), args.max_groups.to_string()),
            ("max-series".into(), args.max_series.to_string()),
            ("max-connections".into(), args.max_connections.to_string()),
            (
                "enable-openmetrics".into(),
                args.enable_openmetrics.to_string(),
            ),
            (
                "web.config.file".into(),
                args.web_config
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
        ],
        start_ns: crate::model::time::now_ns(),
    };
    let gw = Arc::new(gw);
    let web = Arc::new(web);
    if args.web_config.is_some() {
        let (web, shared_tls) = (web.clone(), shared_tls.clone());
        std::thread::spawn(move || watch_web_config(&web, shared_tls.as_ref()));
    }
    let handler = Arc::new(move |req: &crate::http::server::Request| {
        let current = web.current();
        let (auth, headers) = match &*current {
            Current::Loaded { auth, headers } => (auth, headers),
            // As exporter-toolkit answers while its file does not load.
            Current::Broken(_) => {
                return crate::http::server::Response::text(500, "Internal Server Error\n")
            }
        };
        let mut resp = if auth.is_empty() || auth.allows(req.header("authorization")) {
            api::handle(&gw, &opts, req)
        } else {
            crate::http::server::Response::text(401, "Unauthorized\n")
                .header("WWW-Authenticate", "Basic")
                .header("X-Content-Type-Options", "nosniff")
        };
        for (k, v) in headers {
            resp = resp.header(k, v.clone());
        }
        resp
    });
    let limits = Limits {
        max_connections: args.max_connections,
        // The server's own limit must let gzip bodies through; the API limits the decoded size.
        max_body: args.max_body,
        ..Limits::default()
    };
    server.run(limits, handler)?;
    bail!("gateway: the listener stopped")
}

/// Re-reads the web config file once a second when it or a file it names has changed:
/// new users, headers and certificates take effect; a file that no longer loads, or that
/// turns TLS off under a TLS listener, stops every request (500) until it is fixed.
fn watch_web_config(web: &Watched, tls: Option<&SharedTls>) {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        match web.refresh() {
            Refresh::Unchanged => {}
            Refresh::Failed(e) => {
                eprintln!("prombox: gateway: web config: {e}; requests are refused until it loads")
            }
            Refresh::Reloaded(new) => match (tls, new) {
                (Some(slot), Some(cfg)) => {
                    *slot.write().unwrap_or_else(|e| e.into_inner()) = cfg;
                }
                (Some(_), None) => {
                    let why = "tls_server_config was removed; restart to serve plain HTTP";
                    eprintln!("prombox: gateway: web config: {why}");
                    web.break_with(why.into());
                }
                (None, Some(_)) => {
                    eprintln!("prombox: gateway: web config: TLS takes effect at the next start")
                }
                (None, None) => {}
            },
        }
    }
}
