//! YAML configuration files as a tree of nodes that remember where they were written, and
//! strict decoding helpers on it.
//!
//! Prometheus decodes its YAML files strictly (yaml.v2's `UnmarshalStrict`): an unknown
//! field, a repeated key or a value of the wrong kind is an error. prombox does the same and
//! every error carries the line and column of the offending node, so `check config` and
//! `rules check` point at it. The parser is yaml-rust2's event parser; aliases are expanded
//! and merge keys (`<<: *defaults`) applied while the tree is built.
//!
//! Hostile files are refused with a position, before they cost memory or stack: alias
//! expansion is limited by yaml.v2's rule (a "billion laughs" file is `document contains
//! excessive aliasing`: past 100 expanded nodes and 1,000 in all, expanded nodes may make up
//! at most 99% of the document, falling to 10% at 4 M nodes), and nesting stops at
//! [`MAX_DEPTH`] levels (yaml-rust2 itself stops flow collections at 256).

use std::fmt;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in a file: 1-based line and column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// An error at a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub pos: Pos,
    pub msg: String,
}

impl Error {
    pub fn new(pos: Pos, msg: impl Into<String>) -> Error {
        Error {
            pos,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.msg)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// One node of a document.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// `~`, `null`, or nothing.
    Null,
    /// A scalar's text; `quoted` when written in quotes or as a block (never null, a bool or
    /// a number then).
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    /// Entries in document order (keys are unique: a repeat is a parse error).
    Map(Vec<(Node, Node)>),
}

/// The deepest a document may nest (yaml.v2 stops at 10,000; no configuration comes near
/// 1,000, and the tree's recursive walks and drops stay well within a thread's stack).
pub const MAX_DEPTH: usize = 1000;

/// yaml.v2's `allowedAliasRatio`: the share of a document that alias expansion may make up,
/// given how many nodes it has decoded so far.
fn allowed_alias_ratio(decoded: usize) -> f64 {
    const LOW: f64 = 400_000.0;
    const HIGH: f64 = 4_000_000.0;
    let d = decoded as f64;
    if d <= LOW {
        0.99
    } else if d >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((d - LOW) / (HIGH - LOW))
    }
}

/// Nodes in a tree (itself included).
fn size(n: &Node) -> usize {
    1 + match &n.kind {
        Kind::Seq(v) => v.iter().map(size).sum(),
        Kind::Map(e) => e.iter().map(|(k, v)| size(k) + size(v)).sum(),
        Kind::Null | Kind::Scalar { .. } => 0,
    }
}

/// Parses a single-document file. An empty file is a null node.
pub fn parse(text: &str) -> Result<Node> {
    let mut b = Builder::default();
    let mut p = Parser::new_from_str(text);
    // Events are pulled one by one (yaml-rust2's `load` recurses once per level of nesting,
    // so a deep enough file would overflow the stack before any limit here could apply).
    // The first document is the file, as for yaml.v2's Unmarshal.
    loop {
        let (event, mark) = match p.next_token() {
            Ok(x) => x,
            Err(e) => return Err(Error::new(pos(e.marker()), scan_message(&e.to_string()))),
        };
        if matches!(event, Event::StreamEnd | Event::DocumentEnd) {
            break;
        }
        b.on_event(event, mark);
        if let Some(e) = b.error {
            return Err(e);
        }
    }
    Ok(b.root.unwrap_or(Node {
        pos: Pos { line: 1, col: 1 },
        kind: Kind::Null,
    }))
}

/// yaml-rust2's message without its own position suffix.
fn scan_message(s: &str) -> String {
    match s.find(" at byte ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

fn pos(m: &Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.col() + 1,
    }
}

enum Open {
    Seq(Node, usize),
    /// A mapping, its anchor, a key waiting for its value, and entries from merge keys
    /// (added at the end for keys not written in the mapping itself).
    Map(Node, usize, Option<Node>, Vec<(Node, Node)>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    /// Anchored nodes by id, with their sizes.
    anchors: Vec<(usize, Node, usize)>,
    root: Option<Node>,
    error: Option<Error>,
    /// Nodes in the tree so far, and how many of them came from expanding aliases.
    decoded: usize,
    aliased: usize,
}

impl Builder {
    fn fail(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Adds a finished node to whatever is open.
    fn put(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            let n = size(&node);
            self.anchors.push((anchor, node.clone(), n));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq(s, _)) => {
                if let Kind::Seq(v) = &mut s.kind {
                    v.push(node);
                }
            }
            Some(Open::Map(m, _, key, merged)) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    let Kind::Map(entries) = &mut m.kind else {
                        return;
                    };
                    if let Kind::Scalar {
                        text,
                        quoted: false,
                    } = &k.kind
                    {
                        if text == "<<" {
                            // A merge key: the mapping's (or mappings') entries fill in
                            // keys not written here.
                            let sources = match node.kind {
                                Kind::Map(e) => vec![e],
                                Kind::Seq(v) => v
                                    .into_iter()
                                    .filter_map(|n| match n.kind {
                                        Kind::Map(e) => Some(e),
                                        _ => None,
                                    })
                                    .collect(),
                                _ => {
                                    let e = Error::new(k.pos, "merge key value is not a mapping");
                                    self.fail(e);
                                    return;
                                }
                            };
                            for src in sources {
                                for (sk, sv) in src {
                                    if !merged.iter().any(|(ek, _)| same_key(ek, &sk)) {
                                        merged.push((sk, sv));
                                    }
                                }
                            }
                            return;
                        }
                    }
                    if let Some((first, _)) = entries.iter().find(|(ek, _)| same_key(ek, &k)) {
                        let e = Error::new(
                            k.pos,
                            format!(
                                "mapping key {:?} already defined at line {}",
                                key_text(&k),
                                first.pos.line
                            ),
                        );
                        self.fail(e);
                        return;
                    }
                    entries.push((k, node));
                }
            },
        }
    }
}

fn key_text(n: &Node) -> &str {
    match &n.kind {
        Kind::Scalar { text, .. } => text,
        _ => "",
    }
}

fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Scalar { text: x, .. }, Kind::Scalar { text: y, .. }) => x == y,
        _ => false,
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let p = pos(&mark);
        match ev {
            Event::Scalar(text, style, anchor, _) => {
                self.decoded += 1;
                let quoted = style != TScalarStyle::Plain;
                let kind =
                    if !quoted && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL") {
                        Kind::Null
                    } else {
                        Kind::Scalar { text, quoted }
                    };
                self.put(Node { pos: p, kind }, anchor);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.fail(Error::new(p, format!("exceeded max depth of {MAX_DEPTH}")));
            }
            Event::SequenceStart(anchor, _) => {
                self.decoded += 1;
                self.stack.push(Open::Seq(
                    Node {
                        pos: p,
                        kind: Kind::Seq(Vec::new()),
                    },
                    anchor,
                ))
            }
            Event::MappingStart(anchor, _) => {
                self.decoded += 1;
                self.stack.push(Open::Map(
                    Node {
                        pos: p,
                        kind: Kind::Map(Vec::new()),
                    },
                    anchor,
                    None,
                    Vec::new(),
                ))
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Open::Seq(n, a)) => self.put(n, a),
                Some(Open::Map(mut n, a, _, merged)) => {
                    if let Kind::Map(entries) = &mut n.kind {
                        // The parser marks a block mapping after its first key; point at the key.
                        if let Some((k, _)) = entries.first() {
                            n.pos = n.pos.min(k.pos);
                        }
                        for (k, v) in merged {
                            if !entries.iter().any(|(ek, _)| same_key(ek, &k)) {
                                entries.push((k, v));
                            }
                        }
                    }
                    self.put(n, a)
                }
                None => {}
            },
            Event::Alias(id) => match self.anchors.iter().rev().find(|(a, _, _)| *a == id) {
                Some((_, n, count)) => {
                    // Counted before the copy is made, so a "billion laughs" file stops here:
                    // the alias itself, then what it expands to, as yaml.v2 counts.
                    self.decoded += 1 + count;
                    self.aliased += count;
                    let excessive = self.aliased > 100
                        && self.decoded > 1000
                        && self.aliased as f64 / self.decoded as f64
                            > allowed_alias_ratio(self.decoded);
                    if excessive {
                        self.fail(Error::new(p, "document contains excessive aliasing"));
                        return;
                    }
                    let n = n.clone();
                    self.put(n, 0);
                }
                None => self.fail(Error::new(p, "unknown anchor")),
            },
            _ => {}
        }
    }
}

impl Node {
    /// What the node is, for error messages (yaml.v2's tags).
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "!!null",
            Kind::Scalar { .. } => "!!str",
            Kind::Seq(_) => "!!seq",
            Kind::Map(_) => "!!map",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    fn wrong(&self, want: &str) -> Error {
        let got = match &self.kind {
            Kind::Scalar { text, .. } => format!("`{text}`"),
            _ => self.kind_name().to_string(),
        };
        Error::new(self.pos, format!("cannot unmarshal {got} into {want}"))
    }

    /// A scalar's text (null is an error).
    pub fn str(&self) -> Result<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Ok(text),
            _ => Err(self.wrong("string")),
        }
    }

    /// A scalar's text, or "" for null (Go's zero value).
    pub fn str_or_empty(&self) -> Result<&str> {
        match &self.kind {
            Kind::Null => Ok(""),
            _ => self.str(),
        }
    }

    pub fn bool(&self) -> Result<bool> {
        match &self.kind {
            Kind::Scalar {
                text,
                quoted: false,
            } => match text.as_str() {
                "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Ok(true),
                "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
                    Ok(false)
                }
                _ => Err(self.wrong("bool")),
            },
            Kind::Null => Ok(false),
            _ => Err(self.wrong("bool")),
        }
    }

    /// A non-negative integer (Go's `uint`).
    pub fn uint(&self) -> Result<u64> {
        match &self.kind {
            Kind::Scalar {
                text,
                quoted: false,
            } => {
                let t = text.replace('_', "");
                let v = if let Some(h) = t.strip_prefix("0x") {
                    u64::from_str_radix(h, 16).ok()
                } else {
                    t.parse::<u64>().ok()
                };
                v.ok_or_else(|| self.wrong("uint"))
            }
            Kind::Null => Ok(0),
            _ => Err(self.wrong("uint")),
        }
    }

    /// A sequence's items (null is an empty sequence).
    pub fn seq(&self) -> Result<&[Node]> {
        match &self.kind {
            Kind::Seq(v) => Ok(v),
            Kind::Null => Ok(&[]),
            _ => Err(self.wrong("sequence")),
        }
    }

    /// A sequence of strings.
    pub fn strings(&self) -> Result<Vec<String>> {
        self.seq()?
            .iter()
            .map(|n| n.str().map(str::to_string))
            .collect()
    }

    /// A mapping's entries for strict decoding into the type named `ty` (null is empty).
    pub fn map<'a>(&'a self, ty: &'static str) -> Result<Fields<'a>> {
        let entries: &[(Node, Node)] = match &self.kind {
            Kind::Map(e) => e,
            Kind::Null => &[],
            _ => return Err(self.wrong(ty)),
        };
        Ok(Fields {
            ty,
            entries,
            used: vec![false; entries.len()],
        })
    }

    /// A mapping of string keys to string values, in document order.
    pub fn string_map(&self) -> Result<Vec<(String, String, Pos)>> {
        match &self.kind {
            Kind::Map(e) => e
                .iter()
                .map(|(k, v)| Ok((k.str()?.to_string(), v.str_or_empty()?.to_string(), k.pos)))
                .collect(),
            Kind::Null => Ok(Vec::new()),
            _ => Err(self.wrong("map[string]string")),
        }
    }
}

/// A mapping being decoded: fields are taken by name, and [`Fields::finish`] rejects any
/// that were not taken.
pub struct Fields<'a> {
    ty: &'static str,
    entries: &'a [(Node, Node)],
    used: Vec<bool>,
}

impl<'a> Fields<'a> {
    /// The value of a field, if written (a null value counts as not written).
    pub fn get(&mut self, name: &str) -> Option<&'a Node> {
        let i = self
            .entries
            .iter()
            .position(|(k, _)| matches!(&k.kind, Kind::Scalar { text, .. } if text == name))?;
        self.used[i] = true;
        let v = &self.entries[i].1;
        (!v.is_null()).then_some(v)
    }

    /// Takes a field without decoding it (accepted and ignored).
    pub fn skip(&mut self, name: &str) {
        self.get(name);
    }

    /// Names of the fields written but not taken.
    pub fn rest(&self) -> impl Iterator<Item = (&'a Node, &'a Node)> + '_ {
        self.entries
            .iter()
            .zip(&self.used)
            .filter(|(_, u)| !**u)
            .map(|((k, v), _)| (k, v))
    }

    /// Fails on the first field that was not taken (yaml.v2's strict mode wording).
    pub fn finish(self) -> Result<()> {
        if let Some((k, _)) = self.rest().next() {
            return Err(Error::new(
                k.pos,
                format!("field {} not found in type {}", key_text(k), self.ty),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_kinds() {
        let n = parse("a: 1\nb:\n  - x\n  - 'y'\nc: ~\n").unwrap();
        let mut f = n.map("t").unwrap();
        let a = f.get("a").unwrap();
        assert_eq!(a.pos, Pos { line: 1, col: 4 });
        assert_eq!(a.uint().unwrap(), 1);
        let b = f.get("b").unwrap();
        assert_eq!(b.strings().unwrap(), vec!["x", "y"]);
        assert_eq!(b.seq().unwrap()[1].pos, Pos { line: 4, col: 5 });
        assert!(f.get("c").is_none());
        f.finish().unwrap();
    }

    #[test]
    fn strict_errors() {
        let n = parse("a: 1\nzz: 2\n").unwrap();
        let mut f = n.map("config").unwrap();
        f.get("a");
        let e = f.finish().unwrap_err();
        assert_eq!(e.to_string(), "2:1: field zz not found in type config");
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "3:1: mapping key \"a\" already defined at line 1"
        );
        let n = parse("a: [1]\n").unwrap();
        let e = n.map("t").unwrap().get("a").unwrap().str().unwrap_err();
        assert_eq!(e.to_string(), "1:4: cannot unmarshal !!seq into string");
        let e = parse("a: [1\n").unwrap_err();
        assert!(e.pos.line >= 1, "{e}");
        let n = parse("a: yes\nb: 'true'\n").unwrap();
        let mut f = n.map("t").unwrap();
        assert!(f.get("a").unwrap().bool().unwrap());
        assert!(f.get("b").unwrap().bool().is_err());
    }

    #[test]
    fn anchors_and_merge_keys() {
        let n = parse("d: &d {x: 1, y: 2}\ne:\n  <<: *d\n  y: 3\n").unwrap();
        let mut f = n.map("t").unwrap();
        f.get("d");
        let e = f.get("e").unwrap();
        let mut g = e.map("t").unwrap();
        assert_eq!(g.get("x").unwrap().str().unwrap(), "1");
        assert_eq!(g.get("y").unwrap().str().unwrap(), "3");
        g.finish().unwrap();
    }

    #[test]
    fn empty_document_is_null() {
        assert!(parse("").unwrap().is_null());
        assert!(parse("# only a comment\n").unwrap().is_null());
    }

    /// A "billion laughs" file: 9 levels of 10 aliases each would expand to 10^9 nodes.
    #[test]
    fn excessive_aliasing_is_refused_with_a_position() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            doc.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let e = parse(&doc).unwrap_err();
        assert_eq!(e.msg, "document contains excessive aliasing");
        assert!(e.pos.line >= 3 && e.pos.line <= 9, "{e}");
        // Modest reuse, as configs use anchors, is fine.
        let mut doc = String::from("base: &b {a: 1, b: 2, c: 3}\nitems:\n");
        for _ in 0..200 {
            doc.push_str("- *b\n");
        }
        let n = parse(&doc).unwrap();
        assert_eq!(
            n.map("t")
                .unwrap()
                .get("items")
                .unwrap()
                .seq()
                .unwrap()
                .len(),
            200
        );
    }

    #[test]
    fn nesting_is_limited() {
        let deep = format!("{}1{}", "[".repeat(300), "]".repeat(300));
        let e = parse(&deep).unwrap_err();
        assert_eq!(e.to_string(), "1:256: recursion limit exceeded");
        let block =
            |n: usize| -> String { (0..n).map(|i| format!("{}k:\n", " ".repeat(i))).collect() };
        assert!(parse(&block(MAX_DEPTH)).is_ok());
        match parse(&block(MAX_DEPTH + 1)) {
            Err(e) => {
                assert_eq!(
                    (e.pos.line, e.msg.as_str()),
                    (1001, "exceeded max depth of 1000")
                )
            }
            Ok(_) => panic!("{} levels accepted", MAX_DEPTH + 1),
        }
        assert!(parse(&block(5_000)).is_err());
        let ok = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        assert!(parse(&ok).is_ok());
        // Far deeper input costs no stack either.
        let deeper = format!("{}1{}", "[".repeat(200_000), "]".repeat(200_000));
        assert!(parse(&deeper).is_err());
        let mixed: String = (0..100_000)
            .map(|i| format!("{}- [\n", " ".repeat(i % 50)))
            .collect();
        assert!(parse(&mixed).is_err());
    }
}
