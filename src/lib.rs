//! prombox: the Prometheus monitoring system as one binary of composable Unix subcommands.
//!
//! ```text
//!   targets ──scrape──► exposition text ──store──► data dir ──compact──► blocks
//!                          (expfmt)                              │
//!                                                  query ◄───────┘──► rules ──► alert
//! ```
//!
//! Modules, leaves first: [`model`] (labels, samples, metric types), [`expfmt`] (the text and
//! OpenMetrics exposition formats: parser, writer, lints), and [`cli`] (the command line, the only
//! module that knows clap and anyhow). Later parts (storage, PromQL, rules, scrape, alerting)
//! slot in beside `expfmt`, each depending only on the modules below it.

pub mod cli;
pub mod expfmt;
pub mod model;
pub mod output;
pub mod promql;
pub mod scrape;
pub mod storage;
pub mod yaml;
