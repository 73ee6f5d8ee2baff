//! Differential tests against the reference: promtool (Debian package `prometheus`).
//!
//! Same input to `promtool check metrics` and `prombox check metrics`: same exit status and the
//! same lint problems (promtool prints `metric text`, we print `metric: text`; promtool 2.x
//! repeats a problem once per offending series and has no `metric not unique` lint, so
//! problems are compared as sets without it).

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::util::{text, Workdir};

fn promtool() -> Option<()> {
    crate::util::installed("promtool", "prometheus").then_some(())
}

fn run_promtool(input: &[u8]) -> (i32, BTreeSet<String>) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    let problems = text(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("error while linting"))
        .map(|l| l.replacen(' ', ": ", 1))
        .collect();
    (out.status.code().unwrap(), problems)
}

#[test]
fn lints_and_status_match_promtool() {
    if promtool().is_none() {
        return;
    }
    let mut inputs: Vec<(String, Vec<u8>)> = vec![
        ("counter".into(), b"# TYPE foo counter\nfoo 1\n".to_vec()),
        (
            "camel".into(),
            b"# HELP fooMs x\n# TYPE fooMs gauge\nfooMs{aB=\"x\"} 1\nfooMs{aB=\"y\"} 2\nbar_milliseconds 3\n".to_vec(),
        ),
        ("parse error".into(), b"a{b=\"c\"} 1\nbroken{ 1\n".to_vec()),
        ("bad value".into(), b"a 1.2.3\n".to_vec()),
        (
            "reserved".into(),
            b"# HELP x_bucket x\n# TYPE x_bucket gauge\nx_bucket{le=\"1\",quantile=\"2\"} 1\n# HELP x:y_count x\n# TYPE x:y_count counter\nx:y_count 3\n# HELP a_counter_total x\n# TYPE a_counter_total counter\na_counter_total 1\n# HELP a_sec x\n# TYPE a_sec gauge\na_sec 1\n# HELP g_total x\n# TYPE g_total gauge\ng_total 1\n# HELP kb_kilobytes x\n# TYPE kb_kilobytes gauge\nkb_kilobytes 1\n".to_vec(),
        ),
        ("empty".into(), Vec::new()),
        (
            "node".into(),
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/expfmt/node.prom")).unwrap(),
        ),
    ];
    if let Some(dir) = crate::util::conformance("textparse") {
        for f in [
            "alltypes.237mfs.prom.txt",
            "alltypes.237mfs.nometa.prom.txt",
        ] {
            inputs.push((f.into(), std::fs::read(dir.join(f)).unwrap()));
        }
    }
    let w = Workdir::new("promtool-diff");
    for (name, input) in &inputs {
        let (code, want) = run_promtool(input);
        let out = w.run(&["check", "metrics", "--format", "text"], input);
        let got: BTreeSet<String> = text(&out.stdout)
            .lines()
            .filter(|l| !l.ends_with(": metric not unique") && !l.starts_with("<stdin>:"))
            .map(String::from)
            .collect();
        assert_eq!(out.status.code(), Some(code), "{name}: exit status");
        assert_eq!(got, want, "{name}: lint problems");
        println!(
            "promtool agrees on {name}: exit {code}, {} problems",
            want.len()
        );
    }
}
