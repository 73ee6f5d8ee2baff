//! Scraping: the `scrape_configs` of a prometheus.yml, target discovery and relabeling, and
//! one scrape round over HTTP (or local files and commands) into the data dir.

pub mod config;
pub mod discovery;
pub mod dns;
pub mod error;
pub mod host;
pub mod process;
pub mod relabel;
pub mod round;
pub mod state;
pub mod target;
