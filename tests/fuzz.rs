//! Fuzzing the parsers that read what users and remote peers write, as the exposition parser
//! is fuzzed in `expfmt.rs`: PromQL, series selectors, YAML (and the scrape config decoded
//! from it), the series notation of test scripts, templates and rule files, HTTP request
//! heads and chunked bodies, protobuf expositions, grouping-key paths, the gateway's
//! state files and alert inputs. Each gets 100,000 random inputs and
//! 100,000 mutations of valid ones, then deep-nesting and huge-repetition inputs: no panic,
//! no abort, and (measured in a child process) bounded memory.

use std::path::Path;

use prombox::model::matcher::parse_selector;
use prombox::promql::script::parse_series;

use crate::util::{conformance, Rng};

const RANDOM: usize = 100_000;
const MUTATED: usize = 100_000;

/// Valid UTF-8 from fuzz bytes (a parser of `&str` only ever sees valid text).
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `check` on `RANDOM` random inputs built from `alphabet` and `MUTATED` mutations of
/// `seeds`; returns how many inputs it saw.
fn fuzz(seed: u64, seeds: &[Vec<u8>], alphabet: &[u8], mut check: impl FnMut(&str)) -> usize {
    let mut r = Rng(seed);
    for _ in 0..RANDOM {
        let len = r.below(80);
        check(&text(&r.bytes(len, alphabet)));
    }
    for _ in 0..MUTATED {
        check(&text(&r.mutate(seeds, alphabet)));
    }
    RANDOM + MUTATED
}

/// Lines of our own and upstream's test scripts: queries after `eval ... at T` (or the
/// range form), and series lines of `load` blocks.
fn script_lines() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/promql")];
    dirs.extend(conformance("promqltest"));
    let (mut queries, mut series) = (Vec::new(), Vec::new());
    for dir in dirs {
        for e in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            for l in text.lines() {
                let t = l.trim();
                if let Some(rest) = t.strip_prefix("eval") {
                    let q = match rest.find(" at ") {
                        Some(i) => rest[i + 4..].split_once(' ').map(|x| x.1),
                        None => rest
                            .find(" step ")
                            .and_then(|i| rest[i + 6..].split_once(' ').map(|x| x.1)),
                    };
                    if let Some(q) = q {
                        queries.push(q.as_bytes().to_vec());
                    }
                } else if l.starts_with(['\t', ' ']) && !t.starts_with("expect") && !t.is_empty() {
                    series.push(t.as_bytes().to_vec());
                }
            }
        }
    }
    assert!(
        queries.len() > 200 && series.len() > 200,
        "{} {}",
        queries.len(),
        series.len()
    );
    (queries, series)
}

#[test]
fn promql_parser_survives_random_and_mutated_queries() {
    let (seeds, _) = script_lines();
    let alphabet = b"(){}[],:=!~\"'`@^*/%+-<>. \t\nabcxyz_0123456789eEinfNaI sum by without on ignoring group_left bool offset rate[5m:1m] \xc3\xa9";
    let (mut ok, mut printed) = (0, 0);
    let n = fuzz(0x9e37_79b9_7f4a_7c15, &seeds, alphabet, |q| {
        if let Ok(e) = prombox::promql::parse(q) {
            ok += 1;
            // What parses prints as a query that parses to the same print.
            let p = e.to_string();
            let again = prombox::promql::parse(&p).unwrap_or_else(|err| {
                panic!("{q:?} printed as {p:?}, which does not parse: {err}")
            });
            assert_eq!(again.to_string(), p, "{q:?}");
            printed += 1;
        }
    });
    println!("fuzz promql: {n} inputs, {ok} parsed, {printed} round-tripped, no panic");
    assert!(
        ok > 1_000,
        "too few inputs parse: the mutations are not reaching the parser"
    );
}

#[test]
fn selector_parser_survives_random_and_mutated_selectors() {
    let seeds: Vec<Vec<u8>> = [
        r#"up{job="node", instance=~"a.*"}"#,
        r#"{__name__=~"node_.+", mode!="idle", x!~"a|b"}"#,
        r#"{"my.metric", "a.b"="c\n\u00e9"}"#,
        "http_requests_total",
        r#"x{a=~"\\d+{2,3}", b="}"}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let alphabet = b"{}=!~\",._ \\\\dwsabc123*+?()|[]^$\xc3\xa9";
    let mut ok = 0;
    let n = fuzz(0x51ed_2701_0000_0002, &seeds, alphabet, |s| {
        if parse_selector(s).is_ok() {
            ok += 1;
        }
    });
    println!("fuzz selector: {n} inputs, {ok} parsed, no panic");
    assert!(ok > 1_000);
}

/// The built-in YAML seeds, and upstream's config and SD files when ../shared is there.
fn yaml_seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = [
        "global:\n  scrape_interval: 15s\nscrape_configs:\n- job_name: node\n  static_configs:\n  - targets: ['a:9100']\n    labels: {env: prod}\n  relabel_configs:\n  - source_labels: [__address__]\n    regex: '(.*):\\d+'\n    target_label: host\n",
        "- targets: [\"a:1\", 'b:2']\n  labels:\n    x: &v y\n    z: *v\n",
        "a: &a {b: [1, 2, {c: d}]}\ne:\n  <<: *a\n  f: |\n    text\n  g: >-\n    folded\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    for sub in ["promtool", "alertmanager"] {
        if let Some(dir) = conformance(sub) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let small = std::fs::metadata(&p).unwrap().len() < 4 << 10;
                if small && p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                    seeds.push(std::fs::read(p).unwrap());
                }
            }
        }
    }
    seeds
}

#[test]
fn yaml_and_config_survive_random_and_mutated_documents() {
    let seeds = yaml_seeds();
    let alphabet = b"-:{}[],&*!|>'\"#?%@ \n\n  \tabcxyz_019.~<<job_name: targets: regex: ";
    let dir = std::env::temp_dir();
    let (mut docs, mut configs) = (0, 0);
    let n = fuzz(0xa076_1d64_78bd_642f, &seeds, alphabet, |t| {
        if prombox::yaml::parse(t).is_ok() {
            docs += 1;
        }
        if prombox::scrape::config::parse(t, &dir).is_ok() {
            configs += 1;
        }
    });
    println!("fuzz yaml: {n} inputs, {docs} documents, {configs} valid configs, no panic");
    assert!(docs > 1_000 && configs > 100);
}

#[test]
fn series_notation_survives_random_and_mutated_lines() {
    let (_, seeds) = script_lines();
    let alphabet = b"{}=\",_ +-x0123456789.eEstaleNaInf{{schema:1 sum:3 buckets:[1 2]}}\t";
    let mut ok = 0;
    let n = fuzz(0xe703_7ed1_a0b4_28db, &seeds, alphabet, |l| {
        if parse_series(l).is_ok() {
            ok += 1;
        }
    });
    println!("fuzz series notation: {n} inputs, {ok} parsed, no panic");
    assert!(ok > 1_000);
}

/// Templates of promtool's rule files and our own, as seeds.
fn template_seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = [
        "{{ $labels.instance }} is {{ $value | humanize }}",
        "{{- if gt $value 1.0 -}} big {{- else if eq $value 0.0 }} zero {{ else }}small{{ end }}",
        "{{ range $k, $v := $labels }}{{ $k }}={{ $v }}{{ break }}{{ end }}",
        "{{ with query \"up\" }}{{ . | first | value | printf \"%.2f\" }}{{ end }}",
        "{{ define \"x\" }}{{ . }}{{ end }}{{ template \"x\" $labels }}{{ block \"y\" . }}b{{ end }}",
        "{{/* c */}}{{ $x := 1 }}{{ $x = 2 }}{{ printf \"%d %s %v\" $x `raw` 'c' }}",
        "{{ index $labels \"a\" | len }} {{ slice \"abc\" 1 2 }} {{ and 1 0 | not }} {{ (1).x }}",
        "{{ reReplaceAll \"(a+)\" \"$1\" \"aaa\" }} {{ humanizeDuration 3600 }} {{ toTime 0 }}",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    if let Some(dir) = conformance("promtool") {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let t = std::fs::read_to_string(e.path()).unwrap_or_default();
            for l in t.lines().filter(|l| l.contains("{{")) {
                seeds.push(l.split_once(": ").map_or(l, |x| x.1).as_bytes().to_vec());
            }
        }
    }
    seeds
}

#[test]
fn templates_survive_random_and_mutated_texts() {
    let seeds = template_seeds();
    let alphabet = b"{{}}- $.|()\"'`/*:=,abcxyz019 labels value if else end range with define template block break continue printf humanize index len eq lt and not nil true";
    let labels: std::collections::BTreeMap<String, String> =
        [("a".to_string(), "b".to_string())].into();
    let ext = std::collections::BTreeMap::new();
    let data = prombox::template::AlertData {
        labels: &labels,
        external_labels: &ext,
        external_url: "http://x",
        value: 1.5,
    };
    let query = |_: &str| -> Result<Vec<prombox::template::QuerySample>, String> {
        Ok(vec![prombox::template::QuerySample {
            labels: labels.clone(),
            value: 2.0,
        }])
    };
    let env = prombox::template::Env {
        external_url: Some("http://x"),
        time_ms: 0,
        query: Some(&query),
    };
    let (mut parsed, mut ran) = (0, 0);
    let n = fuzz(0x1d8e_4e27_c47d_124f, &seeds, alphabet, |t| {
        if let Ok(tmpl) = prombox::template::Template::parse("f", t) {
            parsed += 1;
            if tmpl.execute(data.to_value(), &env).is_ok() {
                ran += 1;
            }
        }
    });
    println!("fuzz templates: {n} inputs, {parsed} parsed, {ran} ran, no panic");
    assert!(parsed > 1_000 && ran > 100);
}

#[test]
fn rule_files_survive_random_and_mutated_documents() {
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    if let Some(dir) = conformance("promtool") {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            // Small files only: a mutation of rules_large.yml costs 10,000 rules.
            let small = e.metadata().is_ok_and(|m| m.len() <= 4096);
            if small && e.path().extension().is_some_and(|x| x == "yml") {
                seeds.push(std::fs::read(e.path()).unwrap());
            }
        }
    }
    seeds.push(b"groups:\n- name: a\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 5m\n    labels: {s: '{{ $labels.x }}'}\n".to_vec());
    let alphabet = b"-:{}[]'\"# \n  groups: name: rules: record: alert: expr: for: labels: annotations: up==0 5m {{ $labels.x }}";
    let opts = prombox::rules::ParseOptions::default();
    let mut ok = 0;
    let n = fuzz(0x8ebc_6af0_9c88_c6e3, &seeds, alphabet, |t| {
        if let Ok(f) = prombox::rules::file::parse(t, opts) {
            ok += 1;
            let sources = [prombox::rules::lint::Source { text: t, file: &f }];
            let _ = prombox::rules::lint::check(&sources, &Default::default());
            let _ = prombox::rules::lint::duplicates(&f);
        }
    });
    println!("fuzz rule files: {n} inputs, {ok} parsed and checked, no panic");
    assert!(ok > 1_000);
}

/// Nesting far past every limit, for every parser: an error, never a stack overflow.
#[test]
fn deep_nesting_in_every_parser() {
    for depth in [10, 100, 1_000, 10_000, 100_000] {
        let open = |s: &str| s.repeat(depth);
        let queries = [
            format!("{}1{}", open("("), open(")")),
            format!("{}x{}", open("sum("), open(")")),
            format!("{}1", open("-")),
            format!("{}1", open("1 + ")),
            format!("{}1", open("2 ^ ")),
            format!("x[{}1m{}]", open("("), open(")")),
            format!("{}x{}", open("rate("), open("[5m:])")),
            format!("x{}", open("[5m:]")),
            format!("x offset {}1m{}", open("("), open(")")),
        ];
        for q in &queries {
            let deep = depth > prombox::promql::parse::MAX_DEPTH;
            if let Ok(e) = prombox::promql::parse(q) {
                assert!(!deep, "{depth}: accepted");
                let printed = e.to_string();
                assert!(prombox::promql::parse(&printed).is_ok(), "{depth}");
            }
        }
        let _ = parse_selector(&format!("{{a=~\"{}a{}\"}}", open("("), open(")")));
        for doc in [
            format!("{}1{}", open("["), open("]")),
            format!("{}1{}", open("{a: "), open("}")),
            (0..depth.min(3_000))
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect(),
            open("- "),
        ] {
            let r = prombox::yaml::parse(&doc);
            if depth > prombox::yaml::MAX_DEPTH {
                assert!(r.is_err(), "{depth}");
            }
        }
        let _ = parse_series(&format!("x{} 1", open("{")));
        for t in [
            format!("{{{{ {}1{} }}}}", open("("), open(")")),
            format!("{}x{}", open("{{ if 1 }}"), open("{{ end }}")),
            format!("{}x{}", open("{{ range . }}"), open("{{ end }}")),
            format!("{{{{ {}1 }}}}", open("not ")),
        ] {
            if let Ok(tmpl) = prombox::template::Template::parse("t", &t) {
                let _ = tmpl.execute(
                    prombox::template::Value::Nil,
                    &prombox::template::Env::empty(),
                );
            }
        }
    }
}

/// Inputs of many megabytes, in a child process whose peak RSS is measured: each parser
/// refuses or reads them within a bounded amount of memory.
#[test]
fn huge_inputs_stay_within_bounded_memory() {
    if std::env::var_os("PROMBOX_FUZZ_CHILD").is_some() {
        huge_inputs();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    // Reaped below with wait4, which also gives its resource usage.
    #[allow(clippy::zombie_processes)]
    let child = std::process::Command::new(exe)
        .args([
            "fuzz::huge_inputs_stay_within_bounded_memory",
            "--exact",
            "--test-threads=1",
            "--nocapture",
        ])
        .env("PROMBOX_FUZZ_CHILD", "1")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for the child spawned above (its Child handle is not used again).
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(pid, child.id() as i32);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: {status}"
    );
    let mib = ru.ru_maxrss / 1024;
    println!("huge inputs: peak RSS {mib} MiB");
    assert!(mib < 512, "peak RSS {mib} MiB");
}

fn huge_inputs() {
    // PromQL: a 16 MiB string literal, 100,000 matchers, grouping labels and arguments,
    // an `or` chain far past the depth limit.
    let big = "a".repeat(16 << 20);
    assert!(prombox::promql::parse(&format!("x{{a=\"{big}\"}}")).is_ok());
    let matchers = vec!["a=\"1\""; 100_000].join(",");
    assert!(prombox::promql::parse(&format!("x{{{matchers}}}")).is_ok());
    let labels = (0..100_000)
        .map(|i| format!("l{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert!(prombox::promql::parse(&format!("sum by ({labels}) (x)")).is_ok());
    let args = vec!["\"a\""; 100_000].join(",");
    assert!(prombox::promql::parse(&format!("label_join(x, \"d\", \",\", {args})")).is_ok());
    assert!(prombox::promql::parse(&vec!["x"; 1_000_000].join(" or ")).is_err());
    assert!(parse_selector(&format!("{{{matchers}}}")).is_ok());
    // YAML: a million list items, a 16 MiB scalar, a billion laughs.
    let items = "- x\n".repeat(1_000_000);
    assert!(prombox::yaml::parse(&items).is_ok());
    assert!(prombox::yaml::parse(&format!("a: {big}\n")).is_ok());
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        laughs.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(", ")
        ));
    }
    assert!(prombox::yaml::parse(&laughs).is_err());
    // Series notation: repetitions past the limit, alone and summed over a script.
    for line in [
        "x 1x99999999999999",
        "x _x99999999999999",
        "x 1+1x18446744073709551615",
        "x {{schema:1}}x99999999999",
    ] {
        assert!(parse_series(line).is_err(), "{line}");
    }
    let script = format!("load 1m\n{}", "\tx{a=\"b\"} 1x999999\n".repeat(20));
    assert!(prombox::promql::script::run(&script, &Default::default()).is_err());
}

/// As [`fuzz`], over bytes.
fn fuzz_bytes(
    seed: u64,
    seeds: &[Vec<u8>],
    alphabet: &[u8],
    n: usize,
    mut check: impl FnMut(&[u8]),
) {
    let mut r = Rng(seed);
    for _ in 0..n {
        let len = r.below(120);
        check(&r.bytes(len, alphabet));
        check(&r.mutate(seeds, alphabet));
    }
}

#[test]
fn http_requests_survive_random_and_mutated_heads_and_chunks() {
    use prombox::http::request::{find_head_end, parse_head, Chunked};
    let seeds: Vec<Vec<u8>> = [
        &b"PUT /metrics/job/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"[..],
        b"POST /m HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n5;x\r\nhello\r\n0\r\nT: 1\r\n\r\n",
        b"GET / HTTP/1.1\nExpect: 100-continue\nContent-Length: 1, 1\n\n",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    let mut heads = 0;
    fuzz_bytes(
        41,
        &seeds,
        b"GETPUT /:\r\n HTTP/1.0x-Length:chunked;0123456789abcdef\0\xff",
        100_000,
        |b| {
            if let Some(end) = find_head_end(b, 0) {
                if parse_head(&b[..end]).is_ok() {
                    heads += 1;
                }
                let mut c = Chunked::default();
                let mut out = Vec::new();
                let mut i = end;
                // Fed in uneven pieces, as a network delivers them.
                while i < b.len() && !c.done() {
                    let step = ((b[i] as usize) % 7 + 1).min(b.len() - i);
                    match c.feed(&b[i..i + step], &mut out) {
                        Ok(n) => i += n.max(1),
                        Err(_) => break,
                    }
                }
                assert!(out.len() <= b.len());
            }
        },
    );
    assert!(heads > 100, "too few valid heads generated: {heads}");
}

#[test]
fn protobuf_bodies_survive_random_and_mutated_bytes() {
    use prombox::expfmt::family::{Family, Kind, Metric, Value};
    use prombox::expfmt::proto::{decode_delimited, encode_delimited};
    let mut seeds = Vec::new();
    for kind in [
        Kind::Counter,
        Kind::Gauge,
        Kind::Histogram,
        Kind::Summary,
        Kind::Untyped,
    ] {
        let mut f = Family::new("m", kind);
        f.help = Some("h".into());
        let value = match kind {
            Kind::Histogram => Value::Histogram(Default::default()),
            Kind::Summary => Value::Summary(Default::default()),
            Kind::Counter => Value::Counter(Default::default()),
            _ => Value::Gauge(1.5),
        };
        f.metrics.push(Metric {
            labels: vec![("a".into(), "b".into())],
            value,
            timestamp_ms: Some(5),
        });
        let mut b = Vec::new();
        encode_delimited(&f.view(), &mut b);
        seeds.push(b);
    }
    let mut ok = 0;
    fuzz_bytes(
        43,
        &seeds,
        b"\x00\x01\x02\x08\x09\x0a\x12\x18\x1a\x22\x2a\x3a\x80\xff\x7f",
        100_000,
        |b| {
            if let Ok(fams) = decode_delimited(b) {
                ok += 1;
                let mut again = Vec::new();
                for f in &fams {
                    encode_delimited(&f.view(), &mut again);
                }
                // Compared as text: NaN values are equal there.
                let back = decode_delimited(&again).unwrap();
                assert_eq!(
                    format!("{back:?}"),
                    format!("{fams:?}"),
                    "re-encoding changed {b:?}"
                );
            }
        },
    );
    assert!(ok > 1000, "too few valid bodies generated: {ok}");
}

#[test]
fn grouping_key_paths_survive_random_and_mutated_paths() {
    use prombox::push::key::parse_path;
    let seeds: Vec<Vec<u8>> = [
        "/j/instance/a/path@base64/L3Zhci90bXA",
        "@base64/YS9i/e@base64/=",
        "/j/a/b/c",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let n = fuzz(47, &seeds, b"/@base64=_-aZ9j", |s| {
        if let Ok((key, order)) = parse_path(s) {
            // What parses prints back to a path that parses to the same key.
            let p = key.path(&order);
            let decoded =
                String::from_utf8(prombox::http::request::percent_decode(&p, false).unwrap())
                    .unwrap();
            assert_eq!(
                parse_path(decoded.strip_prefix("/metrics/job").unwrap())
                    .unwrap()
                    .0,
                key,
                "{s:?}"
            );
        }
    });
    assert_eq!(n, RANDOM + MUTATED);
}

#[test]
fn alert_inputs_survive_random_and_mutated_lines() {
    use prombox::alert::{parse_alerts, to_json};
    let seeds: Vec<Vec<u8>> = [
        "{\"labels\":{\"alertname\":\"A\",\"job\":\"x\"},\"annotations\":{\"s\":\"v\"},\"startsAt\":\"2026-12-01T00:00:00Z\",\"endsAt\":\"2026-12-01T00:05:00.5+01:00\",\"generatorURL\":\"http://p\"}\n{\"labels\":{\"b\":\"c\"}}",
        "[{\"labels\":{\"a\":\"b\"},\"status\":{\"state\":\"active\"}}]",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let mut parsed = 0;
    let n = fuzz(53, &seeds, b"{}[]\":,\n labelsAtZ0-9T:.+", |s| {
        if let Ok(alerts) = parse_alerts(s) {
            parsed += 1;
            // What parses is sent as JSON that parses back to the same alerts.
            let sent = String::from_utf8(to_json(&alerts)).unwrap();
            assert_eq!(parse_alerts(&sent).unwrap(), alerts, "{s:?}");
        }
    });
    assert_eq!(n, RANDOM + MUTATED);
    for depth in [1_000, 100_000] {
        assert!(parse_alerts(&"[".repeat(depth)).is_err());
        assert!(parse_alerts(&format!("{{\"labels\":{}", "{\"a\":".repeat(depth))).is_err());
    }
    eprintln!("alert inputs: {n} inputs, {parsed} parsed");
}

#[test]
fn gateway_state_files_survive_random_and_mutated_bytes() {
    use prombox::gateway::disk::{decode_file, encode, Change};
    use prombox::gateway::store::Group;
    use prombox::push::GroupingKey;
    let mut g = Group::new(GroupingKey::new("j", &[("instance".into(), "x".into())]));
    g.push_time_ns = 7;
    let mut log = b"PBGWLOG1\x01\x00\x00\x00\x00\x00\x00\x00".to_vec();
    log.extend(encode(&Change::Put(&g)));
    log.extend(encode(&Change::Delete(&g.key)));
    log.extend(encode(&Change::Wipe));
    let mut ok = 0;
    fuzz_bytes(53, &[log], b"\x00\x01\x02\x03\xffPBGWLOG1", 50_000, |b| {
        if decode_file(b).is_ok() {
            ok += 1;
        }
    });
    assert!(ok > 0);
}
