//! `prombox collect`: print the built-in host collector's exposition (an exporter for pipes).

use std::io::{self, Write};

use super::Status;
use crate::scrape::host;

const EXAMPLES: &str = "\
Prints what `prombox scrape` stores without --config: CPU, memory, load, filesystems,
disks and network from /proc and /sys, named like node_exporter's metrics, in the
Prometheus text format.

Examples:
  prombox collect | grep ^node_load
  prombox collect | prombox store --data data --label instance=$(hostname)
  prombox collect > /var/lib/node_exporter/textfile/host.prom";

#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<Status> {
    let mut s = String::new();
    host::collect(&host::Paths::default(), &mut s);
    let mut out = io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()?;
    Ok(Status::Ok)
}
