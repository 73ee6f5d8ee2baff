//! Go's text/template language as Prometheus uses it for alert labels and annotations (and,
//! later, notification texts): a lexer ([`lex`]), a parser ([`parse`]) and an executor
//! ([`exec`]) kept apart, the function table beside them ([`funcs`]), values ([`value`])
//! and Go's `fmt` formatting ([`fmt`]).
//!
//! [`Template::parse`] checks a text once; [`Template::execute`] renders it against a data
//! value and an [`Env`] (external URL, evaluation time, a query backend). [`expand_alert`]
//! is Prometheus's expansion of one alert label or annotation: the `$labels`, `$value`,
//! `$externalLabels` and `$externalURL` variables defined before the text, the template
//! named `__alert_NAME`, and a failed expansion replaced by `<error expanding template: ...>`.

pub mod exec;
pub mod fmt;
pub mod funcs;
pub mod lex;
pub mod parse;
pub mod value;

use std::collections::BTreeMap;

pub use exec::ExecError;
pub use funcs::Env;
pub use parse::ParseError;
pub use value::{QuerySample, Value};

/// A parsed template and its definitions.
#[derive(Clone, Debug)]
pub struct Template {
    name: String,
    text: String,
    trees: parse::Trees,
    /// Variables set from fields of the data before the text runs (the alert header).
    header_vars: &'static [(&'static str, &'static str)],
}

impl Template {
    /// Parses `text` as the template `name` with Prometheus's function table.
    pub fn parse(name: &str, text: &str) -> Result<Template, ParseError> {
        let trees = parse::parse(name, text, &|f| funcs::Func::from_name(f).is_some())?;
        Ok(Template {
            name: name.to_string(),
            text: text.to_string(),
            trees,
            header_vars: &[],
        })
    }

    /// Renders the template with `data` as dot.
    pub fn execute(&self, data: Value, env: &Env<'_>) -> Result<String, ExecError> {
        let mut s = exec::State::new(&self.name, &self.text, &self.trees, env);
        s.run(&self.name, data, self.header_vars)?;
        Ok(s.out)
    }
}

/// What an alert template reads of its data (for static checks).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct References {
    /// Label names read as `$labels.NAME`, `.Labels.NAME` or `index $labels "NAME"`.
    pub labels: Vec<String>,
    /// Whether `$value` or `.Value` is read.
    pub value: bool,
}

impl Template {
    /// What the template's own text (after `skip` bytes of header) reads of its data.
    pub fn references(&self, skip: usize) -> References {
        let mut r = References::default();
        for (tree, list) in &self.trees.trees {
            // In a `define`d template dot is whatever its caller passed.
            parse::visit_in(list, *tree == self.name, &mut |a, next, root| {
                if a.pos < skip {
                    return;
                }
                match &a.kind {
                    parse::ArgKind::Variable(v, f) if v == "$labels" => {
                        if let Some(n) = f.first() {
                            r.labels.push(n.clone());
                        }
                    }
                    parse::ArgKind::Field(f)
                        if root && f.first().is_some_and(|x| x == "Labels") =>
                    {
                        if let Some(n) = f.get(1) {
                            r.labels.push(n.clone());
                        }
                    }
                    parse::ArgKind::Variable(v, _) if v == "$value" => r.value = true,
                    parse::ArgKind::Field(f) if root && f.first().is_some_and(|x| x == "Value") => {
                        r.value = true
                    }
                    parse::ArgKind::Identifier(i) if i == "index" => {
                        if let Some((
                            parse::Arg {
                                kind: parse::ArgKind::Variable(v, f),
                                ..
                            },
                            parse::Arg {
                                kind: parse::ArgKind::String(name, _),
                                ..
                            },
                        )) = next
                        {
                            if v == "$labels" && f.is_empty() {
                                r.labels.push(name.clone());
                            }
                        }
                    }
                    _ => {}
                }
            });
        }
        r.labels.sort();
        r.labels.dedup();
        r
    }
}

/// The text Prometheus puts before every alert label and annotation template.
pub const ALERT_HEADER: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

const ALERT_DATA_TYPE: &str = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }";
const ALERT_DATA_FIELDS: &[&str] = &["Labels", "ExternalLabels", "ExternalURL", "Value"];

/// What an alert's templates see.
pub struct AlertData<'a> {
    pub labels: &'a BTreeMap<String, String>,
    pub external_labels: &'a BTreeMap<String, String>,
    pub external_url: &'a str,
    pub value: f64,
}

impl AlertData<'_> {
    /// The data as the template's dot.
    pub fn to_value(&self) -> Value {
        let map = |m: &BTreeMap<String, String>| {
            Value::labels(m.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        };
        exec::struct_value(
            ALERT_DATA_TYPE,
            ALERT_DATA_FIELDS,
            vec![
                ("Labels", map(self.labels)),
                ("ExternalLabels", map(self.external_labels)),
                ("ExternalURL", Value::str(self.external_url)),
                ("Value", Value::Float(self.value)),
            ],
        )
    }
}

/// Why an alert template failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpandError {
    Parse(String, ParseError),
    Exec(String, ExecError),
}

impl std::fmt::Display for ExpandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpandError::Parse(name, e) => write!(f, "error parsing template {name}: {e}"),
            ExpandError::Exec(name, e) => write!(f, "error executing template {name}: {e}"),
        }
    }
}

impl std::error::Error for ExpandError {}

/// Parses an alert label or annotation template as Prometheus does (header included), to
/// check it without running it.
pub fn parse_alert(alert: &str, text: &str) -> Result<Template, ExpandError> {
    let name = format!("__alert_{alert}");
    // The header is not parsed each time: its variables are declared, and positions count
    // from its start, so messages are the same as if it had been.
    let vars: Vec<&str> = ALERT_VARS.iter().map(|v| v.0).collect();
    let trees = parse::parse_after(
        &name,
        text,
        &|f| funcs::Func::from_name(f).is_some(),
        &vars,
        ALERT_HEADER.len(),
    );
    match trees {
        Ok(trees) => Ok(Template {
            text: format!("{ALERT_HEADER}{text}"),
            name,
            trees,
            header_vars: ALERT_VARS,
        }),
        Err(e) => Err(ExpandError::Parse(name, e)),
    }
}

/// The variables [`ALERT_HEADER`] sets, and the fields they come from.
const ALERT_VARS: &[(&str, &str)] = &[
    ("$labels", "Labels"),
    ("$externalLabels", "ExternalLabels"),
    ("$externalURL", "ExternalURL"),
    ("$value", "Value"),
];

/// Expands one alert label or annotation template.
pub fn expand_alert(
    alert: &str,
    text: &str,
    data: &AlertData<'_>,
    env: &Env<'_>,
) -> Result<String, ExpandError> {
    // Prometheus skips the template engine for text without an action.
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    let t = parse_alert(alert, text)?;
    t.execute(data.to_value(), env)
        .map_err(|e| ExpandError::Exec(format!("__alert_{alert}"), e))
}

/// [`expand_alert`], with a failure written into the result as Prometheus does.
pub fn expand_alert_or_error(
    alert: &str,
    text: &str,
    data: &AlertData<'_>,
    env: &Env<'_>,
) -> String {
    match expand_alert(alert, text, data, env) {
        Ok(s) => s,
        Err(e) => format!("<error expanding template: {e}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> String {
        let labels: BTreeMap<String, String> = [
            ("instance".to_string(), "host:9100".to_string()),
            ("job".to_string(), "node".to_string()),
        ]
        .into();
        let ext = BTreeMap::new();
        let data = AlertData {
            labels: &labels,
            external_labels: &ext,
            external_url: "http://prom.example:9090/prefix",
            value: 1234567.0,
        };
        match expand_alert("A", text, &data, &Env::empty()) {
            Ok(s) => s,
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn alert_templates() {
        assert_eq!(
            run("{{ $labels.instance }} is {{ $value }}"),
            "host:9100 is 1.234567e+06"
        );
        assert_eq!(run("{{ $value | humanize }}"), "1.235M");
        assert_eq!(run("{{ printf \"%.2f\" $value }}"), "1234567.00");
        assert_eq!(run("{{ $labels.nope }}|{{ .Labels.nope }}"), "|");
        assert_eq!(
            run("{{ range $k, $v := $labels }}{{$k}}={{$v}} {{ end }}"),
            "instance=host:9100 job=node "
        );
        assert_eq!(
            run("{{ if gt $value 1e6 }}big{{ else }}small{{ end }}"),
            "big"
        );
        assert_eq!(run("{{ $labels.instance | stripPort | toUpper }}"), "HOST");
        assert_eq!(
            run("{{ $labels.x }"),
            "error parsing template __alert_A: template: __alert_A:1: unexpected \"}\" in operand"
        );
        assert_eq!(
            run("{{ .Foo }}"),
            "error executing template __alert_A: template: __alert_A:1:115: executing \"__alert_A\" at <.Foo>: can't evaluate field Foo in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value interface {} }"
        );
        assert_eq!(
            run("{{ define \"x\" }}[{{ . }}]{{ end }}{{ template \"x\" $labels.job }}"),
            "[node]"
        );
        assert_eq!(run("{{ range $i, $x := args 1 2 3 }}{{ if eq $i \"arg1\" }}{{ break }}{{ end }}{{ $x }}{{ end }}"), "1");
        assert_eq!(run("{{- \"a\" -}} \n {{- \"b\" }}"), "ab");
    }
}
