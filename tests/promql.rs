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
