//! The one integration test binary: each module tests one area through the built binary or
//! the library's public API.

mod server;
mod util;

mod alert;
mod check_metrics;
mod conformance;
mod expfmt;
mod fuzz;
mod gateway;
mod generated;
mod promql;
mod promtool;
mod rules;
mod rules_eval;
mod scrape;
mod scrape_run;
mod storage;
