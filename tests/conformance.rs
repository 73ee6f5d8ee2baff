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

/// A series as written in the file, and its value.
type Spot = (&'static str, f64);

/// What Prometheus stores of each real-world exposition: the sample count and spot values,
/// read from Prometheus 2.42 after it scraped each file (`scrape_samples_scraped`, and the
/// series queried back). `scrape_run::textparse_files_are_stored_as_prometheus_stores_them`
/// repeats the comparison live, series by series, where Prometheus is installed.
const TEXTPARSE: &[(&str, usize, &[Spot])] = &[
    (
        "1histogram.om.txt",
        42,
        &[
            (
                "golang_manual_histogram_seconds_sum{address=\"0.0.0.0\",generation=\"20\",port=\"5001\"}",
                10.0,
            ),
            (
                "golang_manual_histogram_seconds_count{address=\"0.0.0.0\",generation=\"20\",port=\"5003\"}",
                1.0,
            ),
        ],
    ),
    (
        "alltypes.237mfs.nometa.prom.txt",
        1857,
        &[
            ("go_gc_duration_seconds{quantile=\"0\"}", 0.000076238),
            ("go_gc_cycles_automatic_gc_cycles_total", 190932.0),
        ],
    ),
    (
        "alltypes.237mfs.prom.txt",
        1857,
        &[
            ("go_gc_duration_seconds{quantile=\"0\"}", 0.000076238),
            (
                "prometheus_http_request_duration_seconds_count{handler=\"/api/v1/series\"}",
                1246.0,
            ),
            (
                "prometheus_http_response_size_bytes_sum{handler=\"/api/v1/targets/metadata\"}",
                2736.0,
            ),
            ("promhttp_metric_handler_requests_total{code=\"503\"}", 0.0),
        ],
    ),
    (
        "alltypes.5mfs.om.txt",
        53,
        &[
            (
                "go_build_info{checksum=\"\",path=\"\",version=\"\"}",
                1.0,
            ),
            (
                "rpc_durations_histogram_seconds_bucket{le=\"0.0004100000000000002\"}",
                15.0,
            ),
            (
                "rpc_requests_created{service=\"uniform\"}",
                1726839813.0168471,
            ),
        ],
    ),
];

/// Prometheus's real-world expositions parse to the samples Prometheus stores of them.
#[test]
fn textparse_samples() {
    let Some(dir) = conformance("textparse") else {
        return;
    };
    assert_present(&dir, TEXTPARSE.iter().map(|(f, _, _)| f.to_string()));
    for (name, want_count, spots) in TEXTPARSE {
        let format = if name.ends_with(".om.txt") {
            Format::OpenMetrics
        } else {
            Format::Text
        };
        let data = fs::read(dir.join(name)).unwrap();
        let mut p = Parser::with_strictness(&data[..], format, Strictness::Prometheus);
        let mut values = std::collections::HashMap::new();
        let mut samples = 0;
        while let Some(e) = p.next_entry() {
            match e {
                Ok(prombox::expfmt::Entry::Sample(s)) => {
                    samples += 1;
                    values.insert(s.series.to_string(), s.value);
                }
                Ok(_) => {}
                Err(e) => panic!("textparse: {name}: {e}"),
            }
        }
        println!(
            "textparse: {name}: {samples} samples, {} series ({})",
            values.len(),
            format.name()
        );
        assert_eq!(samples, *want_count, "{name}: sample count");
        assert_eq!(values.len(), *want_count, "{name}: distinct series");
        for (series, want) in *spots {
            let got = values.get(*series).copied();
            assert_eq!(
                got.map(f64::to_bits),
                Some(want.to_bits()),
                "{name}: {series}"
            );
        }
    }
}

/// Every upstream PromQL script this runner expects: a renamed or removed file fails the test.
const PROMQL_FILES: &[&str] = &[
    "aggregators",
    "at_modifier",
    "collision",
    "duration_expression",
    "extended_vectors",
    "fill-modifier",
    "functions",
    "histograms",
    "info",
    "limit",
    "literals",
    "name_label_dropping",
    "native_histograms",
    "operators",
    "range_queries",
    "selectors",
    "staleness",
    "start_timestamps",
    "subquery",
    "trig_functions",
    "type_and_unit",
];

/// Asserts that `dir` holds every expected file, so that a renamed upstream file fails.
fn assert_present(dir: &std::path::Path, names: impl IntoIterator<Item = String>) {
    let missing: Vec<String> = names
        .into_iter()
        .filter(|n| !dir.join(n).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "{}: expected files missing: {}",
        dir.display(),
        missing.join(", ")
    );
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
    assert_present(&dir, PROMQL_FILES.iter().map(|f| format!("{f}.test")));
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
