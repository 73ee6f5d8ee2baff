//! Parser throughput on a large exposition, in memory (no I/O): MB/s and samples/s.
//!
//! `cargo bench --bench expfmt -- FILE [RUNS]`; `tests/bench/expfmt.sh` makes FILE and runs
//! this beside the promtool comparison. Prints the median of RUNS (default 5) per mode.

use std::time::Instant;

use prombox::expfmt::{lint, Parser, Strictness};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Ingest,
    Spec,
    Lint,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(path) = args.first() else {
        eprintln!("usage: cargo bench --bench expfmt -- FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let data = std::fs::read(path).expect("read the input file");
    let mb = data.len() as f64 / 1e6;
    let format = prombox::expfmt::detect(&data[data.len().saturating_sub(64)..]);
    println!("input: {path}: {mb:.1} MB, {} format", format.name());

    let run = |mode: Mode| -> u64 {
        match mode {
            Mode::Ingest => {
                let mut p = Parser::with_strictness(&data[..], format, Strictness::Prometheus);
                let mut n = 0;
                while let Some(e) = p.next_entry() {
                    e.expect("valid input");
                    n += 1;
                }
                n
            }
            Mode::Spec | Mode::Lint => {
                let r = lint::check(&data[..], format, mode == Mode::Lint).expect("in memory");
                assert!(r.error.is_none(), "{:?}", r.error);
                r.samples
            }
        }
    };
    for (name, mode) in [
        ("parse (Prometheus strictness)", Mode::Ingest),
        ("parse (Spec strictness)", Mode::Spec),
        ("parse + lint (check metrics)", Mode::Lint),
    ] {
        let mut secs = Vec::new();
        let mut entries = 0;
        for _ in 0..runs {
            let t = Instant::now();
            entries = run(mode);
            secs.push(t.elapsed().as_secs_f64());
        }
        let s = median(secs);
        println!(
            "{name:32} median {s:.3} s   {:7.1} MB/s   {:6.2} M entries/s ({entries} entries)",
            mb / s,
            entries as f64 / s / 1e6
        );
    }
}
