//! `prombox check metrics`, end to end through the binary.

use crate::util::{text, Workdir};

const GOOD: &str = "# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code=\"200\"} 10
http_requests_total{code=\"500\"} 1 1700000000000
";

#[test]
fn valid_input_prints_nothing() {
    let w = Workdir::new("cm-valid");
    w.write("good.prom", GOOD);
    let out = w.run(&["check", "metrics", "good.prom"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn parse_error_gives_file_line_column() {
    let w = Workdir::new("cm-error");
    w.write("bad.prom", "a{b=\"c\"} 1\nbroken{ 1\n");
    let out = w.run(&["check", "metrics", "bad.prom"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "bad.prom:2:9: expected a label name, found '1'\n"
    );
}

#[test]
fn value_errors_name_the_token() {
    let w = Workdir::new("cm-value");
    let out = w.run(
        &["check", "metrics"],
        b"# HELP a x\n# TYPE a gauge\na 1.2.3\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "<stdin>:3:3: expected a sample value, found \"1.2.3\"\n"
    );
}

#[test]
fn lints_like_promtool_and_exit_3() {
    let w = Workdir::new("cm-lint");
    let input = "# TYPE foo counter\nfoo 1\n# HELP fooMs x\n# TYPE fooMs gauge\nfooMs{aB=\"x\"} 1\nfooMs{aB=\"y\"} 1\nbar_milliseconds 3\n";
    let out = w.run(&["check", "metrics"], input.as_bytes());
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        text(&out.stdout),
        "bar_milliseconds: no help text
bar_milliseconds: use base unit \"seconds\" instead of \"milliseconds\"
foo: counter metrics should have \"_total\" suffix
foo: no help text
fooMs: label names should be written in 'snake_case' not 'camelCase'
fooMs: metric names should be written in 'snake_case' not 'camelCase'
"
    );
    let out = w.run(&["check", "metrics", "--lint", "none"], input.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn reserved_names_types_and_duplicates() {
    let w = Workdir::new("cm-reserved");
    let input = "# HELP x_bucket x\n# TYPE x_bucket gauge\nx_bucket{le=\"1\",quantile=\"2\"} 1\n\
# HELP x:y_count x\n# TYPE x:y_count counter\nx:y_count 3\n\
# HELP a_counter_total x\n# TYPE a_counter_total counter\na_counter_total 1\n\
# HELP a_sec x\n# TYPE a_sec gauge\na_sec 1\na_sec 2\n";
    let out = w.run(&["check", "metrics"], input.as_bytes());
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        text(&out.stdout),
        "a_counter_total: metric name should not include type 'counter'
a_sec: metric names should not contain abbreviated units
a_sec: metric not unique
x:y_count: counter metrics should have \"_total\" suffix
x:y_count: metric names should not contain ':'
x:y_count: non-histogram and non-summary metrics should not have \"_count\" suffix
x_bucket: non-histogram metrics should not have \"_bucket\" suffix
x_bucket: non-histogram metrics should not have \"le\" label
x_bucket: non-summary metrics should not have \"quantile\" label
"
    );
}

#[test]
fn openmetrics_detected_from_eof() {
    let w = Workdir::new("cm-om");
    let om = "# TYPE a counter\n# HELP a help\na_total 1 # {id=\"x\"} 1\n# EOF\n";
    let out = w.run(&["check", "metrics"], om.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // As text, the exemplar is a syntax error.
    let out = w.run(&["check", "metrics", "--format", "text"], om.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).starts_with("<stdin>:3:"),
        "{}",
        text(&out.stdout)
    );
    // Strict OpenMetrics rules apply once detected.
    let out = w.run(&["check", "metrics"], b"a 1\n\n# EOF\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "<stdin>:2:1: blank line (not allowed in OpenMetrics)\n"
    );
    // A file given by name is detected the same way; a repeated series is a lint.
    w.write("x.om", "# TYPE a gauge\n# HELP a h\na 1\na 2\n# EOF\n");
    let out = w.run(&["check", "metrics", "x.om"], b"");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(text(&out.stdout), "a: metric not unique\n");
}

#[test]
fn several_files_prefix_lints_and_keep_the_worst_status() {
    let w = Workdir::new("cm-many");
    w.write("good.prom", GOOD);
    w.write("lint.prom", "x 1\n");
    w.write("bad.prom", "x{ 1\n");
    let out = w.run(
        &["check", "metrics", "good.prom", "lint.prom", "bad.prom"],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "lint.prom: x: no help text\nbad.prom:1:4: expected a label name, found '1'\n"
    );
    let out = w.run(&["check", "metrics", "good.prom", "lint.prom"], b"");
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn runtime_and_usage_errors_exit_2() {
    let w = Workdir::new("cm-errors");
    let out = w.run(&["check", "metrics", "missing.prom"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("prombox: missing.prom: cannot open: "),
        "{}",
        text(&out.stderr)
    );
    let out = w.run(&["check", "metrics", "--format", "xml"], b"");
    assert_eq!(out.status.code(), Some(2));
    let out = w.run(&["frobnicate"], b"");
    assert_eq!(out.status.code(), Some(2));
    let out = w.run(&["--help"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("Examples:"));
}

#[test]
fn closed_pipe_exits_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let w = Workdir::new("cm-pipe");
    let mut big = String::new();
    for i in 0..50_000 {
        big.push_str(&format!("metric_{i}_ms 1\n"));
    }
    let f = w.write("big.prom", big);
    let mut child = w
        .cmd()
        .args(["check", "metrics"])
        .arg(f)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // stdout is closed here; prombox keeps writing and meets EPIPE.
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn duplicate_series_found_whatever_the_label_order() {
    let w = Workdir::new("cm-dup-order");
    let input = "# HELP a h\n# TYPE a gauge\na{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\na{x=\"1\",y=\"3\"} 3\n";
    let out = w.run(&["check", "metrics"], input.as_bytes());
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(text(&out.stdout), "a: metric not unique\n");
}
