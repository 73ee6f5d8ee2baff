//! PromQL through the binary: `query` output formats, errors and exit codes, `series`,
//! `labels`, `test`, and our own scripts in tests/data/promql.

use crate::util::{text, Workdir};

/// Three series of one counter at 60 s spacing from t=1000 s, stored in a data dir.
fn loaded() -> Workdir {
    let wd = Workdir::new("promql");
    let mut om = String::from("# TYPE req counter\n");
    for (inst, rate) in [("a", 1), ("b", 2), ("c", 3)] {
        for i in 0..10 {
            om.push_str(&format!(
                "req_total{{job=\"api\",instance=\"{inst}\"}} {} {}\n",
                i * rate * 60,
                1000 + i * 60
            ));
        }
    }
    om.push_str("# EOF\n");
    let out = wd.run(
        &["store", "--data", "data", "--format", "openmetrics"],
        om.as_bytes(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    wd
}

#[test]
fn query_formats() {
    let wd = loaded();
    let q = |args: &[&str]| {
        let mut a = vec!["query", "--data", "data"];
        a.extend_from_slice(args);
        let out = wd.run(&a, b"");
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    let json = q(&[
        "--time",
        "1540",
        "--format",
        "json",
        "sum(rate(req_total[5m]))",
    ]);
    assert_eq!(
        json,
        "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1540,\"6\"]}]}}\n"
    );
    let json = q(&["--time", "1540", "--format", "json", "1/8"]);
    assert_eq!(
        json,
        "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1540,\"0.125\"]}}\n"
    );
    let csv = q(&[
        "--time",
        "1540",
        "--format",
        "csv",
        "req_total{instance!=\"c\"}",
    ]);
    assert_eq!(
        csv,
        "__name__,instance,job,timestamp,value\nreq_total,a,api,1540,540\nreq_total,b,api,1540,1080\n"
    );
    let tsv = q(&[
        "--time",
        "1540",
        "--format",
        "tsv",
        "sum by (job) (req_total)",
    ]);
    assert_eq!(tsv, "job\ttimestamp\tvalue\napi\t1540\t3240\n");
    let range = q(&[
        "--start",
        "1300",
        "--end",
        "1420",
        "--step",
        "60",
        "--format",
        "jsonl",
        "req_total{instance=\"a\"}",
    ]);
    assert_eq!(
        range,
        "{\"metric\":{\"__name__\":\"req_total\",\"instance\":\"a\",\"job\":\"api\"},\"values\":[[1300,\"300\"],[1360,\"360\"],[1420,\"420\"]]}\n"
    );
    let table = q(&["--time", "1540", "max(req_total)"]);
    assert_eq!(
        table,
        "TIME                  VALUE\n1970-01-01T00:25:40Z   1620\n"
    );
    let chart = q(&[
        "--start",
        "1000",
        "--end",
        "1540",
        "--step",
        "60",
        "--format",
        "chart",
        "rate(req_total[2m])",
    ]);
    assert!(
        chart.contains("┤") && chart.contains("UTC") && chart.contains("━━"),
        "{chart}"
    );
    assert!(!chart.contains('\x1b'), "no colour when not a terminal");
    // An empty result prints nothing.
    assert_eq!(q(&["--time", "1540", "nothing_here"]), "");
    assert_eq!(
        q(&["--time", "1540", "--format", "csv", "nothing_here"]),
        ""
    );
}

#[test]
fn query_errors_and_annotations() {
    let wd = loaded();
    let out = wd.run(&["query", "--data", "data", "sum(rate(req_total[5m])"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "prombox: query: 1:24: parse error: unclosed left parenthesis\n"
    );
    let out = wd.run(
        &[
            "query",
            "--data",
            "data",
            "--time",
            "1540",
            "quantile(2, req_total)",
        ],
        b"",
    );
    assert!(out.status.success());
    assert_eq!(
        text(&out.stderr),
        "prombox: warning: PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)\n"
    );
    let out = wd.run(
        &[
            "query",
            "--data",
            "data",
            "--time",
            "1540",
            "--format",
            "json",
            "quantile(2, req_total)",
        ],
        b"",
    );
    assert!(text(&out.stdout).contains(
        "\"warnings\":[\"PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)\"]"
    ));
    assert_eq!(text(&out.stderr), "");
    let out = wd.run(
        &[
            "query",
            "--data",
            "data",
            "--time",
            "1540",
            "--max-samples",
            "2",
            "req_total",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("too many samples"),
        "{}",
        text(&out.stderr)
    );
    let out = wd.run(&["query", "--explain", "sum(rate(x[300s]))by(job)"], b"");
    assert_eq!(text(&out.stdout), "sum by (job) (rate(x[5m]))\n");
}

/// Deeply nested queries get a positioned parse error past the depth limit and evaluate
/// below it, never a stack overflow (issue 12).
#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let wd = loaded();
    let run = |q: &str| wd.run(&["query", "--data", "data", "--time", "1540", "--", q], b"");
    let too_deep = [
        format!("{}1{}", "(".repeat(20_000), ")".repeat(20_000)),
        format!("{}req_total{}", "sum(".repeat(5_000), ")".repeat(5_000)),
        vec!["1"; 5_000].join(" + "),
        vec!["req_total"; 5_000].join(" or "),
        format!("{}1", "-".repeat(5_000)),
        vec!["2"; 5_000].join(" ^ "),
        format!("req_total[{}5m{}]", "(".repeat(5_000), ")".repeat(5_000)),
        format!(
            "{}req_total{}",
            "max_over_time(".repeat(3_000),
            "[5m:])".repeat(3_000)
        ),
    ];
    for q in &too_deep {
        let out = run(q);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", &q[..40]);
        assert!(
            err.starts_with("prombox: query: 1:")
                && err.ends_with(
                    "parse error: expression nests too deeply (more than 1000 levels)\n"
                ),
            "{err}"
        );
        // --explain parses and prints: the same error.
        let out = wd.run(&["query", "--explain", "--", q], b"");
        assert_eq!(out.status.code(), Some(2));
    }
    let fine = [
        (format!("{}1{}", "(".repeat(990), ")".repeat(990)), "1"),
        (vec!["1"; 990].join(" + "), "990"),
        (format!("{}1", "-".repeat(990)), "1"),
    ];
    for (q, want) in &fine {
        let out = wd.run(
            &[
                "query", "--data", "data", "--time", "1540", "--format", "csv", "--", q,
            ],
            b"",
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).ends_with(&format!(",{want}\n")),
            "{}",
            text(&out.stdout)
        );
        let explained = wd.run(&["query", "--explain", "--", q], b"");
        assert!(explained.status.success(), "{}", text(&explained.stderr));
    }
    let nested_sums = format!("{}req_total{}", "sum(".repeat(990), ")".repeat(990));
    let out = run(&nested_sums);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).is_empty());
}

/// The engine's walks grow their stack as needed: a query just under the depth limit parses,
/// prints and evaluates on a thread with a 256 KiB stack.
#[test]
fn deep_queries_run_on_small_stacks() {
    let t = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let mut storage = prombox::promql::MemStorage::new();
            storage.add(
                prombox::model::Labels::from_pairs([("__name__", "x")]).unwrap(),
                [prombox::model::Sample { t: 0, v: 2.0 }],
            );
            let queries = [
                format!("{}x{}", "sum(".repeat(990), ")".repeat(990)),
                format!("{}x{}", "abs(".repeat(990), ")".repeat(990)),
                vec!["x"; 990].join(" or "),
                format!("{}x{}", "max_over_time(".repeat(495), "[1m:])".repeat(495)),
            ];
            for q in &queries {
                let e = prombox::promql::parse(q).unwrap();
                assert_eq!(
                    prombox::promql::parse(&e.to_string()).unwrap().to_string(),
                    e.to_string()
                );
                let range = prombox::promql::Range {
                    start: 0,
                    end: 0,
                    step: 0,
                };
                let (v, _) = prombox::promql::evaluate(&storage, &e, range, &Default::default())
                    .unwrap_or_else(|(e, _)| panic!("{e}"));
                assert!(!v.is_empty(), "{}", &q[..20]);
            }
        })
        .unwrap();
    t.join().unwrap();
}

/// `--timeout` stops a query that would run for long; too fine a range step is refused as
/// Prometheus's API refuses it.
#[test]
fn query_timeout_and_resolution() {
    let wd = Workdir::new("promql-timeout");
    let mut text_in = String::from("# TYPE slow gauge\n");
    for i in 0..50_000u64 {
        text_in.push_str(&format!("slow {} {}\n", (i * 7919) % 1000, i * 1000));
    }
    let out = wd.run(&["store", "--data", "data"], text_in.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    // 10,000 steps, each sorting a window of up to 50,000 samples: many seconds of work.
    let range = ["--start", "0", "--end", "50000", "--step", "5s"];
    let t0 = std::time::Instant::now();
    let mut args = vec!["query", "--data", "data", "--timeout", "200ms"];
    args.extend(range);
    args.push("quantile_over_time(0.5, slow[1d])");
    let out = wd.run(&args, b"");
    let took = t0.elapsed();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "prombox: query: query timed out in expression evaluation\n"
    );
    // Not a performance target: the query must stop near its deadline, not run to the end.
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");

    let out = wd.run(
        &[
            "query", "--data", "data", "--start", "0", "--end", "20000", "--step", "1s", "slow",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "prombox: query: exceeded maximum resolution of 11,000 points per timeseries. \
         Try decreasing the query resolution (?step=XX)\n"
    );
}

#[test]
fn series_and_labels() {
    let wd = loaded();
    let out = wd.run(
        &[
            "series",
            "--data",
            "data",
            "--match",
            "req_total{instance=~\"a|b\"}",
        ],
        b"",
    );
    assert_eq!(
        text(&out.stdout),
        "req_total{instance=\"a\", job=\"api\"}\nreq_total{instance=\"b\", job=\"api\"}\n"
    );
    let out = wd.run(&["labels", "--data", "data"], b"");
    assert_eq!(text(&out.stdout), "__name__\ninstance\njob\n");
    let out = wd.run(
        &["labels", "--data", "data", "instance", "--format", "json"],
        b"",
    );
    assert_eq!(
        text(&out.stdout),
        "{\"data\":[\"a\",\"b\",\"c\"],\"status\":\"success\"}\n"
    );
}

#[test]
fn own_scripts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/promql");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let r = prombox::promql::script::run(
            &std::fs::read_to_string(&f).unwrap(),
            &prombox::promql::Options::default(),
        )
        .unwrap();
        println!("{}: {} passed", f.display(), r.passed());
        assert_eq!(r.failed(), 0, "{:#?}", r.cases);
        assert!(r.passed() > 0);
    }
}

#[test]
fn test_command_exit_codes() {
    let wd = Workdir::new("promql-test");
    let good = wd.write(
        "good.test",
        "load 1m\n  x 1 2 3\n\neval instant at 2m x\n  x 3\n",
    );
    let bad = wd.write(
        "bad.test",
        "load 1m\n  x 1 2 3\n\neval instant at 2m x\n  x 4\n",
    );
    let out = wd.run(&["test", good.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = wd.run(
        &["test", good.to_str().unwrap(), bad.to_str().unwrap()],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let s = text(&out.stdout);
    assert!(s.contains("bad.test: 0 passed, 1 failed, 0 skipped"), "{s}");
    assert!(
        s.contains("expected 4 for {__name__=\"x\"} but got 3"),
        "{s}"
    );
    let broken = wd.write("broken.test", "lode 1m\n");
    let out = wd.run(&["test", broken.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2));
}
