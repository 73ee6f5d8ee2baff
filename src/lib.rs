//! prombox: the Prometheus monitoring system as one binary of composable Unix subcommands.
//!
//! ```text
//!   targets ──scrape──► exposition text ──store──► data dir ──compact──► blocks
//!              (scrape)       (expfmt)           (storage)                 │
//!                                       query, series, labels, export ◄───┘
//!                                               (promql, output)
//! ```
//!
//! Modules, leaves first: [`model`] (labels, samples, matchers, Go-dialect regexes, times,
//! hashes), [`yaml`] (YAML as a positioned tree, strict decoding), [`expfmt`] (the text and
//! OpenMetrics exposition formats: parser, writer, lints), [`storage`] (the data dir:
//! segments, blocks, compaction), [`promql`] (lexer, parser, evaluator over a
//! [`promql::Storage`]), [`output`] (query result formats), [`scrape`] (configuration,
//! discovery, relabeling, rounds, the host collector), and [`cli`] (the command line, the
//! only module that knows clap and anyhow). Each depends only on the modules before it
//! (`scrape` on `storage` and `expfmt`, `promql` on `storage`); rules, alerting and the
//! servers come next.

pub mod alert;
pub mod cli;
pub mod expfmt;
pub mod gateway;
pub mod http;
pub mod model;
pub mod output;
pub mod promql;
pub mod push;
pub mod rules;
pub mod scrape;
pub mod storage;
pub mod template;
pub mod yaml;
