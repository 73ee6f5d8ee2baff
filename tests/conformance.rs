//! Upstream conformance data, read in place from ../shared/conformance.

use std::fs;

use prombox::expfmt::{lint, Format, Parser, Strictness};

use crate::util::conformance;

/// Every OpenMetrics parser case: `metrics` must parse exactly when `test.json` says so.
#[test]
fn openmetrics_suite() {
    let Some(dir) = conformance("openmetrics") else {
        return;
    };
    let mut cases: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("test.json").is_file())
        .collect();
    cases.sort();
    let (mut pass, mut failures) = (0, Vec::new());
    for case in &cases {
        let meta: serde_json::Value =
            serde_json::from_slice(&fs::read(case.join("test.json")).unwrap()).unwrap();
        assert_eq!(meta["type"], "text", "{}", case.display());
        let want = meta["shouldParse"].as_bool().unwrap();
        let file = meta["file"].as_str().unwrap_or("metrics");
        let data = fs::read(case.join(file)).unwrap();
        let report = lint::check(&data[..], Format::OpenMetrics, false).unwrap();
        let got = report.error.is_none();
        if got == want {
            pass += 1;
        } else {
            failures.push(format!(
                "{}: shouldParse={want}, parser said {}",
                case.file_name().unwrap().to_string_lossy(),
                report
                    .error
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "ok".into())
            ));
        }
    }
    println!("openmetrics: {pass}/{} cases passed", cases.len());
    for f in &failures {
        println!("  FAIL {f}");
    }
    assert!(cases.len() >= 211, "expected the 211 upstream cases");
    assert!(failures.is_empty(), "{} cases failed", failures.len());
}

/// Prometheus's real-world expositions parse as Prometheus ingests them.
#[test]
fn textparse_samples() {
    let Some(dir) = conformance("textparse") else {
        return;
    };
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut failed = 0;
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let format = if name.ends_with(".om.txt") {
            Format::OpenMetrics
        } else {
            Format::Text
        };
        let data = fs::read(f).unwrap();
        let mut p = Parser::with_strictness(&data[..], format, Strictness::Prometheus);
        let mut samples = 0;
        let mut error = None;
        while let Some(e) = p.next_entry() {
            match e {
                Ok(prombox::expfmt::Entry::Sample(_)) => samples += 1,
                Ok(_) => {}
                Err(e) => error = Some(e.to_string()),
            }
        }
        assert!(samples > 0 || error.is_some(), "{name}: no samples");
        match error {
            None => println!(
                "textparse: {name}: ok, {samples} samples ({})",
                format.name()
            ),
            Some(e) => {
                failed += 1;
                println!("textparse: {name}: FAIL {e}");
            }
        }
    }
    assert_eq!(failed, 0);
}

/// The files whose every `eval` must pass (native-histogram cases are skipped, not failed).
const PROMQL_REQUIRED: &[&str] = &[
    "aggregators",
    "at_modifier",
    "collision",
    "functions",
    "histograms",
    "literals",
    "name_label_dropping",
    "operators",
    "range_queries",
    "selectors",
    "staleness",
    "subquery",
    "trig_functions",
    "limit",
    "duration_expression",
];

/// Every upstream PromQL test script, run through the engine; prints the per-file table.
/// `PROMQL_SHOW=<file>` prints that file's failures.
#[test]
fn promql_conformance() {
    let Some(dir) = conformance("promqltest") else {
        return;
    };
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let show = std::env::var("PROMQL_SHOW").unwrap_or_default();
    let opts = prombox::promql::Options::default();
    println!(
        "{:<24} {:>6} {:>6} {:>7}",
        "file", "passed", "failed", "skipped"
    );
    let mut bad = Vec::new();
    let (mut tp, mut tf, mut ts) = (0, 0, 0);
    for f in &files {
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        let text = fs::read_to_string(f).unwrap();
        match prombox::promql::script::run(&text, &opts) {
            Ok(r) => {
                println!(
                    "{:<24} {:>6} {:>6} {:>7}",
                    name,
                    r.passed(),
                    r.failed(),
                    r.skipped()
                );
                tp += r.passed();
                tf += r.failed();
                ts += r.skipped();
                for c in &r.cases {
                    if let prombox::promql::script::Outcome::Failed(why) = &c.outcome {
                        if show == name || show == "all" {
                            println!("  line {}: {}\n    {}", c.line, c.expr, why);
                        }
                        if PROMQL_REQUIRED.contains(&name.as_str()) {
                            bad.push(format!("{name}:{}: {}: {why}", c.line, c.expr));
                        }
                    }
                }
            }
            Err(e) => {
                println!("{name:<24} script error: {e}");
                if PROMQL_REQUIRED.contains(&name.as_str()) {
                    bad.push(format!("{name}: {e}"));
                }
            }
        }
    }
    println!("{:<24} {:>6} {:>6} {:>7}", "total", tp, tf, ts);
    assert!(
        bad.is_empty(),
        "{} required cases failed:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
