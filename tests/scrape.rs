//! Scrape configuration through the binary: `check config` against promtool on upstream's
//! config test files, and `targets` (discovery and relabeling).

use std::process::Command;

use crate::util::{conformance, text, Workdir};

/// Upstream's `promtool check config` inputs: prombox must pass and fail the same ones.
/// (`prometheus-aws-sd-empty-region.good.yml` is left out: its cloud discoveries are not
/// supported by prombox, and promtool 2.42 predates some of them.)
const PROMTOOL_CONFIGS: [&str; 9] = [
    "authorization_credentials_file.bad.yml",
    "authorization_credentials_file.good.yml",
    "prometheus-config.bad.yml",
    "prometheus-config.good.yml",
    "url_in_scrape_targetgroup_with_relabel_config.bad.yml",
    "url_in_scrape_targetgroup_with_relabel_config.good.yml",
    "config_with_service_discovery_files.yml",
    "config_with_tls_files.yml",
    "prometheus-config.lint.too_long_scrape_interval.yml",
];

#[test]
fn check_config_agrees_with_promtool() {
    let Some(dir) = conformance("promtool") else {
        return;
    };
    // Without promtool the recorded expectations are still checked; the comparison is
    // recorded as skipped.
    let have_promtool = crate::util::installed("promtool", "prometheus");
    let wd = Workdir::new("check-config");
    let mut agree = 0;
    for f in PROMTOOL_CONFIGS {
        let out = wd
            .cmd()
            .args(["check", "config", f])
            .current_dir(&dir)
            .output()
            .unwrap();
        let ours = out.status.code();
        let expected_ok = !f.contains(".bad.") && !f.contains("tls_files");
        assert_eq!(
            ours,
            Some(if expected_ok { 0 } else { 1 }),
            "{f}: {}",
            text(&out.stderr)
        );
        if have_promtool {
            let theirs = Command::new("promtool")
                .args(["check", "config", f])
                .current_dir(&dir)
                .output()
                .unwrap()
                .status
                .code();
            assert_eq!(ours, theirs, "{f}: prombox and promtool differ");
            agree += 1;
        }
    }
    println!(
        "check config: {agree}/{} files agree with promtool",
        PROMTOOL_CONFIGS.len()
    );
}

#[test]
fn check_config_errors_have_positions() {
    let wd = Workdir::new("check-config-pos");
    wd.write(
        "p.yml",
        "global:\n  scrape_interval: 15s\nscrape_configs:\n- job_name: a\n  scrape_timeout: 30s\n",
    );
    let out = wd.run(&["check", "config", "p.yml"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "  FAILED: p.yml:5:19: scrape timeout greater than scrape interval for scrape config with job name \"a\"\n"
    );
    wd.write(
        "q.yml",
        "scrape_configs:\n- job_name: a\n  relabel_configs:\n  - action: hashmod\n    target_label: x\n",
    );
    let out = wd.run(&["check", "config", "q.yml"], b"");
    assert_eq!(
        text(&out.stderr),
        "  FAILED: q.yml:4:5: relabel configuration for hashmod requires non-zero modulus\n"
    );
    wd.write(
        "r.yml",
        "scrape_configs:\n- job_name: a\n  scrape_intervall: 1m\n",
    );
    let out = wd.run(&["check", "config", "r.yml"], b"");
    assert_eq!(
        text(&out.stderr),
        "  FAILED: r.yml:3:3: field scrape_intervall not found in type config.ScrapeConfig\n"
    );
}

#[test]
fn targets_before_and_after_relabeling() {
    let wd = Workdir::new("targets");
    wd.write(
        "sd.json",
        r#"[{"targets": ["db:9187"], "labels": {"team": "data"}}]"#,
    );
    wd.write(
        "p.yml",
        "scrape_configs:\n- job_name: node\n  static_configs:\n  - targets: ['a:9100', 'b:9100']\n  relabel_configs:\n  - source_labels: [__address__]\n    regex: 'b:.*'\n    action: drop\n- job_name: pg\n  file_sd_configs:\n  - files: ['*.json']\n",
    );
    let out = wd.run(&["targets", "--config", "p.yml"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.len(), 4, "{t}");
    assert!(
        lines[1].starts_with("node  active   http://a:9100/metrics"),
        "{t}"
    );
    assert!(
        lines[1].ends_with(r#"{instance="a:9100", job="node"}"#),
        "{t}"
    );
    assert!(lines[2].contains("dropped  dropped by relabeling"), "{t}");
    assert!(lines[3].contains("http://db:9187/metrics"), "{t}");
    assert!(
        lines[3].ends_with(r#"{instance="db:9187", job="pg", team="data"}"#),
        "{t}"
    );
    let out = wd.run(
        &[
            "targets", "--config", "p.yml", "--job", "pg", "--format", "json",
        ],
        b"",
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let active = &v["data"]["activeTargets"][0];
    assert_eq!(active["scrapeUrl"], "http://db:9187/metrics");
    assert!(active["discoveredLabels"]["__meta_filepath"]
        .as_str()
        .unwrap()
        .ends_with("sd.json"));
}

/// A "billion laughs" file (8 levels of 10 aliases) is refused with its position, as yaml.v2
/// refuses it, for the config file and for file discovery alike; so is deep nesting (issue 12).
#[test]
fn hostile_yaml_is_refused_with_a_position() {
    let wd = Workdir::new("check-config-yaml");
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        laughs.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    wd.write("laughs.yml", &laughs);
    let out = wd.run(&["check", "config", "laughs.yml"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("laughs.yml:4:20: document contains excessive aliasing"),
        "{}",
        text(&out.stderr)
    );
    let mut sd = String::from("- targets: ['a:1']\n  labels:\n");
    sd.push_str("    l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let refs = vec![format!("*l{}", i - 1); 10].join(", ");
        sd.push_str(&format!("    l{i}: &l{i} [{refs}]\n"));
    }
    wd.write("sd.yml", &sd);
    wd.write(
        "p.yml",
        "scrape_configs:\n- job_name: a\n  file_sd_configs:\n  - files: [sd.yml]\n",
    );
    let out = wd.run(&["check", "config", "p.yml"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("\"sd.yml\": 6:29: document contains excessive aliasing"),
        "{}",
        text(&out.stderr)
    );
    let out = wd.run(&["targets", "--config", "p.yml"], b"");
    assert!(
        text(&out.stderr).contains("sd.yml: 6:29: document contains excessive aliasing"),
        "{}",
        text(&out.stderr)
    );
    // Nesting far past the limit, in block and flow style.
    let block: String = (0..5_000)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    wd.write("deep.yml", &block);
    let out = wd.run(&["check", "config", "deep.yml"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("deep.yml:1001:")
            && text(&out.stderr).contains("exceeded max depth of 1000"),
        "{}",
        text(&out.stderr)
    );
    wd.write(
        "flow.yml",
        format!("a: {}1{}\n", "[".repeat(100_000), "]".repeat(100_000)),
    );
    let out = wd.run(&["check", "config", "flow.yml"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("flow.yml:1:"),
        "{}",
        text(&out.stderr)
    );
}
