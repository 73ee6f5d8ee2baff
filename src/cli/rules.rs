//! `prombox rules`: check rule files (`rules check`, promtool's verdicts and output, plus
//! prombox's static checks), run rule unit tests (`rules test`, promtool's format), and
//! evaluate rules over a data dir (`rules eval`, in [`super::rules_eval`]).

use std::io::{self, Read, Write};
use std::path::PathBuf;

use anyhow::Context;

use super::Status;
use crate::rules::lint::{self, Check, Finding, Severity};
use crate::rules::{self, ParseOptions};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand, Debug)]
enum What {
    /// Check rule files like promtool check rules, plus static checks.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Run rule unit tests in promtool's format, like promtool test rules.
    #[command(after_help = TEST_EXAMPLES)]
    Test(TestArgs),
    /// Evaluate rules over a data dir: one cron round, or a backfill.
    #[command(after_help = super::rules_eval::EXAMPLES)]
    Eval(super::rules_eval::EvalArgs),
}

const TEST_EXAMPLES: &str = "\
A test file names rule files and gives input series, the alerts expected at given times
and PromQL expressions with their expected results (promtool's format). Failures print as
promtool's, with a compact diff of expected (-) and got (+) alerts. Exit 1 if a test
failed, 2 if a file could not be read.

Examples:
  prombox rules test tests/*.yml
  prombox rules test --run 'disk.*' --junit report.xml tests.yml";

#[derive(clap::Args, Debug)]
struct TestArgs {
    /// Unit test files.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Only run test groups whose name matches this regex (repeatable; any may match).
    #[arg(long, value_name = "REGEX")]
    run: Vec<String>,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Show alert mismatches as a diff only.
    #[arg(long)]
    diff: bool,
    /// Print each test's start and duration, and all data at the end, to stderr.
    #[arg(long)]
    debug: bool,
    /// Accept fields the rule file format does not know (in the rule files).
    #[arg(long)]
    ignore_unknown_fields: bool,
}

const CHECK_EXAMPLES: &str = "\
Output as promtool's: `Checking FILE`, then `  SUCCESS: N rules found` or `  FAILED:`
and the errors, each as FILE:LINE:COLUMN: message; then the static checks' findings as
FILE:LINE:COLUMN: SEVERITY[CHECK]: message. Exit 1 if a file has errors; 3 for duplicate
rules with --lint-fatal, or for findings as severe as --fail-on.

Examples:
  prombox rules check rules/*.yml
  cat alerts.yml | prombox rules check
  prombox rules check --format github rules/*.yml";

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    /// promtool's text
    Text,
    /// One JSON document: files, their errors and findings
    Json,
    /// GitHub Actions workflow commands (::error file=...)
    Github,
    /// Checkstyle XML, as CI systems read it
    Checkstyle,
}

#[derive(clap::Args, Debug)]
struct CheckArgs {
    /// Rule files; `-` or none reads standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// promtool's lints, comma-separated: duplicate-rules, all, none.
    #[arg(long, value_name = "LINTS", default_value = "duplicate-rules")]
    lint: String,
    /// Exit 3 when lint problems are found.
    #[arg(long)]
    lint_fatal: bool,
    /// Accept fields the rule file format does not know.
    #[arg(long)]
    ignore_unknown_fields: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Turn a static check off everywhere (repeatable); see the README for the ids.
    #[arg(long, value_name = "CHECK", value_parser = parse_check)]
    disable: Vec<Check>,
    /// Exit 3 when a static check finds something this severe or worse.
    #[arg(long, value_name = "SEVERITY", value_enum)]
    fail_on: Option<SeverityArg>,
    /// Take scrape and evaluation intervals from this Prometheus configuration.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum SeverityArg {
    Bug,
    Warning,
    Info,
}

impl SeverityArg {
    fn severity(self) -> Severity {
        match self {
            SeverityArg::Bug => Severity::Bug,
            SeverityArg::Warning => Severity::Warning,
            SeverityArg::Info => Severity::Info,
        }
    }
}

fn parse_check(s: &str) -> Result<Check, String> {
    Check::from_id(s).ok_or_else(|| {
        let ids: Vec<&str> = Check::ALL.iter().map(|c| c.id()).collect();
        format!("unknown check {s:?} (one of {})", ids.join(", "))
    })
}

/// How files are checked: by `rules check`, and by `check config` for its rule files.
pub(crate) struct CheckSettings {
    pub duplicate_lint: bool,
    pub lint_fatal: bool,
    /// Findings at least this severe exit 3.
    pub fail_on: Option<Severity>,
    pub parse: ParseOptions,
    pub lint: lint::LintOptions,
}

impl CheckSettings {
    /// Settings from a configuration: its job and evaluation intervals.
    pub(crate) fn from_config(c: &crate::scrape::config::Config) -> lint::LintOptions {
        lint::LintOptions {
            job_intervals: c
                .scrape_configs
                .iter()
                .map(|j| (j.job_name.clone(), j.scrape_interval_ms))
                .collect(),
            scrape_interval: c.global.scrape_interval_ms,
            evaluation_interval: c.global.evaluation_interval_ms,
            ..lint::LintOptions::default()
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<Status> {
    match args.what {
        What::Check(a) => check(a),
        What::Test(a) => test(a),
        What::Eval(a) => super::rules_eval::eval(a),
    }
}

/// One file's outcome.
struct Checked {
    name: String,
    rules: usize,
    errors: Vec<String>,
    /// For machine formats: each error's line, column and message.
    positioned: Vec<(usize, usize, String)>,
    duplicates: Vec<lint::Duplicate>,
    findings: Vec<Finding>,
}

fn check(args: CheckArgs) -> anyhow::Result<Status> {
    let mut duplicate_lint = false;
    let mut out = io::stdout().lock();
    for l in args.lint.split(',') {
        match l {
            "all" | "duplicate-rules" => duplicate_lint = true,
            "none" => {}
            other => writeln!(out, "WARNING: unknown lint option: {other:?}")?,
        }
    }
    drop(out);
    let mut lint_opts = match &args.config {
        Some(c) => CheckSettings::from_config(
            &crate::scrape::config::load(c).with_context(|| format!("--config {}", c.display()))?,
        ),
        None => lint::LintOptions::default(),
    };
    lint_opts.disabled = args.disable.iter().copied().collect();
    let settings = CheckSettings {
        duplicate_lint,
        lint_fatal: args.lint_fatal,
        fail_on: args.fail_on.map(SeverityArg::severity),
        parse: ParseOptions {
            ignore_unknown_fields: args.ignore_unknown_fields,
        },
        lint: lint_opts,
    };
    let files = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files.clone()
    };
    check_files(&files, &settings, args.format)
}

/// Checks rule files and prints the results in `format`.
pub(crate) fn check_files(
    files: &[PathBuf],
    settings: &CheckSettings,
    format: OutputFormat,
) -> anyhow::Result<Status> {
    let mut texts: Vec<(String, String, bool)> = Vec::with_capacity(files.len());
    let mut results = Vec::with_capacity(files.len());
    for f in files {
        if f.as_os_str() == "-" {
            let mut s = String::new();
            io::stdin()
                .read_to_string(&mut s)
                .context("rules check: standard input")?;
            texts.push(("standard input".to_string(), s, true));
            continue;
        }
        let name = f.display().to_string();
        match std::fs::read(f) {
            Ok(b) => texts.push((name, String::from_utf8_lossy(&b).into_owned(), false)),
            Err(e) => texts.push((name, format!("\0{e}"), false)),
        }
    }
    let mut parsed: Vec<Option<rules::RuleFile>> = Vec::with_capacity(texts.len());
    for (name, text, stdin) in &texts {
        if let Some(e) = text.strip_prefix('\0') {
            results.push(Checked {
                errors: vec![format!("{name}: {e}")],
                positioned: vec![(0, 0, e.to_string())],
                name: name.clone(),
                rules: 0,
                duplicates: Vec::new(),
                findings: Vec::new(),
            });
            parsed.push(None);
            continue;
        }
        let prefix = if *stdin {
            String::new()
        } else {
            format!("{name}:")
        };
        match rules::file::parse(text, settings.parse) {
            Ok(file) => {
                results.push(Checked {
                    rules: file.rule_count(),
                    duplicates: if settings.duplicate_lint {
                        lint::duplicates(&file)
                    } else {
                        Vec::new()
                    },
                    findings: Vec::new(),
                    errors: Vec::new(),
                    positioned: Vec::new(),
                    name: name.clone(),
                });
                parsed.push(Some(file));
            }
            Err(errs) => {
                results.push(Checked {
                    errors: errs.iter().map(|e| format!("{prefix}{e}")).collect(),
                    positioned: errs
                        .iter()
                        .map(|e| {
                            let msg = e.to_string();
                            let msg = msg
                                .split_once(": ")
                                .map_or(msg.as_str(), |(_, m)| m)
                                .to_string();
                            (e.pos.line, e.pos.col, msg)
                        })
                        .collect(),
                    name: name.clone(),
                    rules: 0,
                    duplicates: Vec::new(),
                    findings: Vec::new(),
                });
                parsed.push(None);
            }
        }
    }
    // Static checks over the files that parsed, together.
    let sources: Vec<(usize, lint::Source<'_>)> = parsed
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            p.as_ref().map(|file| {
                (
                    i,
                    lint::Source {
                        text: &texts[i].1,
                        file,
                    },
                )
            })
        })
        .collect();
    let idx: Vec<usize> = sources.iter().map(|s| s.0).collect();
    let srcs: Vec<lint::Source<'_>> = sources.into_iter().map(|s| s.1).collect();
    for (i, f) in idx.into_iter().zip(lint::check(&srcs, &settings.lint)) {
        results[i].findings = f;
    }
    if settings.lint.disabled.contains(&Check::Duplicate) {
        for r in &mut results {
            r.duplicates.clear();
        }
    }
    let mut out = io::stdout().lock();
    match format {
        OutputFormat::Text => write_text(&mut out, &results)?,
        OutputFormat::Json => write_json(&mut out, &results)?,
        OutputFormat::Github => write_github(&mut out, &results)?,
        OutputFormat::Checkstyle => write_checkstyle(&mut out, &results)?,
    }
    out.flush()?;
    // The process ends soon: freeing thousands of parsed rules piece by piece costs more
    // than the check itself.
    std::mem::forget(parsed);
    std::mem::forget(texts);
    let failed = results.iter().any(|r| !r.errors.is_empty());
    let duplicated = results.iter().any(|r| !r.duplicates.is_empty());
    let severe = settings.fail_on.is_some_and(|min| {
        results
            .iter()
            .any(|r| r.findings.iter().any(|f| f.severity >= min))
    });
    Ok(if failed {
        Status::Failed
    } else if (duplicated && settings.lint_fatal) || severe {
        Status::Lint
    } else {
        Status::Ok
    })
}

fn write_text(out: &mut impl Write, results: &[Checked]) -> io::Result<()> {
    for r in results {
        writeln!(out, "Checking {}", r.name)?;
        if !r.errors.is_empty() {
            out.flush()?;
            let mut err = io::stderr().lock();
            writeln!(err, "  FAILED:")?;
            for e in &r.errors {
                writeln!(err, "{e}")?;
            }
            continue;
        }
        if !r.duplicates.is_empty() {
            out.flush()?;
            let mut err = io::stderr().lock();
            writeln!(err, "  FAILED:")?;
            writeln!(
                err,
                "lint error {}",
                lint::duplicates_message(&r.duplicates)
            )?;
        } else {
            writeln!(out, "  SUCCESS: {} rules found", r.rules)?;
        }
        for f in &r.findings {
            writeln!(
                out,
                "{}:{}: {}[{}]: {}",
                r.name, f.pos, f.severity, f.check, f.message
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn finding_json(f: &Finding) -> serde_json::Value {
    serde_json::json!({
        "check": f.check.id(),
        "severity": f.severity.as_str(),
        "line": f.pos.line,
        "column": f.pos.col,
        "group": f.group,
        "rule": f.rule,
        "message": f.message,
    })
}

fn write_json(out: &mut impl Write, results: &[Checked]) -> io::Result<()> {
    let files: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            let mut findings: Vec<serde_json::Value> =
                r.findings.iter().map(finding_json).collect();
            if !r.duplicates.is_empty() {
                findings.insert(
                    0,
                    serde_json::json!({
                        "check": Check::Duplicate.id(),
                        "severity": Severity::Warning.as_str(),
                        "message": lint::duplicates_message(&r.duplicates),
                    }),
                );
            }
            serde_json::json!({
                "file": r.name,
                "rules": r.rules,
                "errors": r.positioned.iter().map(|(l, c, m)| serde_json::json!({
                    "line": l, "column": c, "message": m,
                })).collect::<Vec<_>>(),
                "findings": findings,
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "files": files }))?;
    writeln!(out)
}

/// A workflow command's property or message, escaped as GitHub's toolkit does.
fn github_escape(s: &str, property: bool) -> String {
    let mut o = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        o = o.replace(':', "%3A").replace(',', "%2C");
    }
    o
}

fn write_github(out: &mut impl Write, results: &[Checked]) -> io::Result<()> {
    for r in results {
        let file = github_escape(&r.name, true);
        for (l, c, m) in &r.positioned {
            writeln!(
                out,
                "::error file={file},line={l},col={c}::{}",
                github_escape(m, false)
            )?;
        }
        if !r.duplicates.is_empty() {
            writeln!(
                out,
                "::warning file={file},title={}::{}",
                Check::Duplicate.id(),
                github_escape(&lint::duplicates_message(&r.duplicates), false)
            )?;
        }
        for f in &r.findings {
            let level = match f.severity {
                Severity::Bug => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            writeln!(
                out,
                "::{level} file={file},line={},col={},title={}::{}",
                f.pos.line,
                f.pos.col,
                f.check.id(),
                github_escape(&f.message, false)
            )?;
        }
    }
    Ok(())
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\n' => o.push_str("&#10;"),
            '\t' => o.push_str("&#9;"),
            c if (c as u32) < 0x20 => o.push_str(&format!("&#{};", c as u32)),
            c => o.push(c),
        }
    }
    o
}

fn write_checkstyle(out: &mut impl Write, results: &[Checked]) -> io::Result<()> {
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(out, "<checkstyle version=\"4.3\">")?;
    for r in results {
        writeln!(out, "  <file name=\"{}\">", xml_escape(&r.name))?;
        for (l, c, m) in &r.positioned {
            writeln!(
                out,
                "    <error line=\"{l}\" column=\"{c}\" severity=\"error\" message=\"{}\" source=\"prombox.rules\"/>",
                xml_escape(m)
            )?;
        }
        if !r.duplicates.is_empty() {
            writeln!(
                out,
                "    <error line=\"0\" severity=\"warning\" message=\"{}\" source=\"prombox.{}\"/>",
                xml_escape(&lint::duplicates_message(&r.duplicates)),
                Check::Duplicate.id()
            )?;
        }
        for f in &r.findings {
            let sev = match f.severity {
                Severity::Bug => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            writeln!(
                out,
                "    <error line=\"{}\" column=\"{}\" severity=\"{sev}\" message=\"{}\" source=\"prombox.{}\"/>",
                f.pos.line,
                f.pos.col,
                xml_escape(&f.message),
                f.check.id()
            )?;
        }
        writeln!(out, "  </file>")?;
    }
    writeln!(out, "</checkstyle>")
}

fn test(args: TestArgs) -> anyhow::Result<Status> {
    let run = if args.run.is_empty() {
        None
    } else {
        let joined = args.run.join("|");
        Some(
            crate::model::Regex::new_unanchored(&joined)
                .map_err(|e| anyhow::anyhow!("--run: {e}"))?,
        )
    };
    let opts = rules::unittest::RunOptions {
        run,
        ignore_unknown_fields: args.ignore_unknown_fields,
        debug: args.debug,
        diff: args.diff,
    };
    let mut status = Status::Ok;
    let mut suites = Vec::new();
    for f in &args.files {
        let outcome = rules::unittest::run_file(f, &opts);
        let mut out = io::stdout().lock();
        let mut err = io::stderr().lock();
        for w in &outcome.warnings {
            writeln!(err, "  WARNING: {w}")?;
        }
        for d in &outcome.debug {
            writeln!(err, "{d}")?;
        }
        let errors = outcome.errors();
        if errors.is_empty() {
            writeln!(out, "  SUCCESS")?;
        } else {
            writeln!(err, "  FAILED:")?;
            for e in &errors {
                writeln!(err, "{e}")?;
                err.flush()?;
                writeln!(out)?;
                out.flush()?;
            }
            if status == Status::Ok {
                status = Status::Failed;
            }
            if outcome.unreadable {
                status = Status::Error;
            }
        }
        writeln!(out)?;
        suites.push((f.display().to_string(), outcome));
    }
    if let Some(path) = &args.junit {
        let xml = junit_xml(&suites);
        std::fs::write(path, xml).with_context(|| format!("--junit {}", path.display()))?;
    }
    Ok(status)
}

/// promtool's JUnit XML: one suite per file, one case per test group.
fn junit_xml(suites: &[(String, rules::unittest::FileOutcome)]) -> String {
    let now = crate::model::time::format_rfc3339(crate::model::time::now_ms());
    let stamp = &now[..19.min(now.len())];
    let mut s = String::from("<testsuites>");
    for (name, o) in suites {
        let failures: usize = o.groups.iter().map(|g| g.errors.len()).sum();
        let errors = usize::from(o.abort.is_some());
        let cases = o.groups.len().max(errors);
        s.push_str(&format!(
            "<testsuite name=\"{}\" tests=\"{cases}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" timestamp=\"{stamp}\">",
            xml_escape(name)
        ));
        for g in &o.groups {
            s.push_str(&format!("<testcase name=\"{}\">", xml_escape(&g.name)));
            for e in &g.errors {
                s.push_str(&format!("<failure>{}</failure>", xml_escape(e)));
            }
            s.push_str("</testcase>");
        }
        if let Some(a) = &o.abort {
            s.push_str(&format!(
                "<testcase name=\"unknown\"><error>{}</error></testcase>",
                xml_escape(a)
            ));
        }
        s.push_str("</testsuite>");
    }
    s.push_str("</testsuites>");
    s
}
