//! The values a template computes with: the closed set of Go types that Prometheus's
//! templates can see (strings, numbers, label maps, query results, times), each knowing the
//! Go type name that error messages and `printf "%T"` show.

use std::collections::BTreeMap;
use std::rc::Rc;

/// One sample of a `query` result (Go's `*template.sample`): `.Labels` and `.Value`.
#[derive(Clone, Debug, PartialEq)]
pub struct QuerySample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// What a map's values are, which decides its Go type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// `map[string]string`: labels.
    Strings,
    /// `map[string]interface {}`: `args`.
    Any,
    /// A Go struct (the alert template data): its type name and its fields in order.
    Struct(&'static str, &'static [&'static str]),
}

/// A map from names to values; Go prints and ranges over it in key order.
#[derive(Clone, Debug, PartialEq)]
pub struct Map {
    pub kind: MapKind,
    pub entries: BTreeMap<String, Value>,
}

/// A template value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Go's invalid value: a map key that is not there. Printed `<no value>`.
    Missing,
    /// Go's untyped `nil`.
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    /// `html/template.HTML`, from `safeHtml`: a string that is not escaped again.
    Html(Rc<str>),
    Map(Rc<Map>),
    /// `template.queryResult`: what `query` and `sortByLabel` return.
    Samples(Rc<Vec<Rc<QuerySample>>>),
    Sample(Rc<QuerySample>),
    /// `*time.Time` (from `toTime`), in nanoseconds since the epoch, UTC.
    Time(i128),
    /// `*time.Duration` (from `toDuration`), in nanoseconds.
    Duration(i64),
}

impl Value {
    pub fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }

    /// A `map[string]string` of labels.
    pub fn labels<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
        Value::Map(Rc::new(Map {
            kind: MapKind::Strings,
            entries: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::str(v)))
                .collect(),
        }))
    }

    /// A `map[string]interface {}`.
    pub fn any_map(entries: BTreeMap<String, Value>) -> Value {
        Value::Map(Rc::new(Map {
            kind: MapKind::Any,
            entries,
        }))
    }

    /// The Go type name (`%T`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Missing | Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Html(_) => "template.HTML",
            Value::Map(m) => match m.kind {
                MapKind::Strings => "map[string]string",
                MapKind::Any => "map[string]interface {}",
                MapKind::Struct(ty, _) => ty,
            },
            Value::Samples(_) => "template.queryResult",
            Value::Sample(_) => "*template.sample",
            Value::Time(_) => "*time.Time",
            Value::Duration(_) => "*time.Duration",
        }
    }

    /// Go's truth of a value (`if`, `with`, `and`, `or`, `not`): false for the zero value of
    /// its type, an empty map or list, and nil.
    pub fn truth(&self) -> bool {
        match self {
            Value::Missing | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) | Value::Html(s) => !s.is_empty(),
            Value::Map(m) => !m.entries.is_empty() || matches!(m.kind, MapKind::Struct(..)),
            Value::Samples(v) => !v.is_empty(),
            Value::Sample(_) | Value::Time(_) | Value::Duration(_) => true,
        }
    }

    /// The string inside a string-kinded value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Html(s) => Some(s),
            _ => None,
        }
    }
}
