//! The parser of Go's text/template language: tokens become a tree of nodes, one tree per
//! template (the main one and each `{{define}}`/`{{block}}`).
//!
//! ```text
//! list     := (text | action)*
//! action   := {{pipeline}} | {{if pipeline}} list ({{else if ...}} | {{else}} list)? {{end}}
//!           | {{range pipeline}} ... | {{with pipeline}} ... | {{template "n" pipeline?}}
//!           | {{block "n" pipeline}} list {{end}} | {{define "n"}} list {{end}}
//!           | {{break}} | {{continue}}
//! pipeline := ($x (, $y)? (:= | =))? command (| command)*
//! command  := operand (space operand)*
//! operand  := term .field*
//! term     := literal | nil | . | .field | $var | function | ( pipeline )
//! ```
//!
//! Errors read as Go's: `template: NAME:LINE: MESSAGE`, the line being that of the token
//! the parser had just read. Variables are resolved here, as in Go: using one that no
//! enclosing action declared is a parse error, and so is calling a function that is not in
//! the function table.

use std::collections::BTreeMap;
use std::fmt;

use super::lex::{lex, Tok, Token};

/// A parse error, worded as Go's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The template's name.
    pub name: String,
    /// 1-based line.
    pub line: usize,
    /// Byte offset in the template text.
    pub pos: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "template: {}", self.message);
        }
        write!(f, "template: {}:{}: {}", self.name, self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// A sequence of nodes.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct List {
    pub nodes: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Text(String),
    /// `{{pipeline}}`: prints its value unless it declares variables.
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    /// `{{template "name" pipeline}}`.
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break(usize),
    Continue(usize),
}

/// The shared shape of `if`, `range` and `with`.
#[derive(Clone, Debug, PartialEq)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

/// A pipeline, with the variables it declares or assigns.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipe {
    pub pos: usize,
    /// `=` rather than `:=`.
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A number constant with every type it can take, as Go's `NumberNode`.
#[derive(Clone, Debug, PartialEq)]
pub struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub float: Option<f64>,
    pub is_complex: bool,
    /// Written as a character constant (`'a'`) or in hex: never a float when untyped.
    pub int_like: bool,
}

/// An operand.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub pos: usize,
    pub kind: ArgKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ArgKind {
    /// `.a.b`: field names.
    Field(Vec<String>),
    /// `$x.a.b`: the variable (with `$`), then field names.
    Variable(String, Vec<String>),
    /// `(pipeline).a.b` and other terms followed by fields.
    Chain(Box<Arg>, Vec<String>),
    /// A function name.
    Identifier(String),
    Dot,
    Nil,
    Bool(bool),
    Number(Number),
    /// The unquoted text and the text as written.
    String(String, String),
    Pipe(Pipe),
}

/// A set of parsed templates: the main one and its definitions.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Trees {
    pub trees: BTreeMap<String, List>,
}

/// The deepest parenthesised pipelines and control structures may nest (Go stops
/// parentheses at 10,000 and control structures not at all; no template comes near 1,000,
/// and the recursive walks over the tree stay within any thread's stack).
pub const MAX_DEPTH: usize = 1000;

/// Parses `text` as the template `name`; `is_function` says which identifiers are functions.
pub fn parse(
    name: &str,
    text: &str,
    is_function: &dyn Fn(&str) -> bool,
) -> std::result::Result<Trees, ParseError> {
    parse_after(name, text, is_function, &[], 0)
}

/// Parses `text` as if it followed a header of `offset` bytes, without a newline, that
/// declares the variables `vars` at the top level (Prometheus's alert header): positions
/// count from the header's start.
pub fn parse_after(
    name: &str,
    text: &str,
    is_function: &dyn Fn(&str) -> bool,
    vars: &[&str],
    offset: usize,
) -> std::result::Result<Trees, ParseError> {
    let mut tokens = lex(text);
    for t in &mut tokens {
        t.pos += offset;
    }
    let mut top_vars = vec!["$".to_string()];
    top_vars.extend(vars.iter().map(|v| v.to_string()));
    let mut p = Parser {
        name,
        tokens,
        i: 0,
        last_line: 1,
        vars: top_vars,
        range_depth: 0,
        action_line: 0,
        depth: 0,
        is_function,
        trees: Trees::default(),
    };
    let root = crate::promql::deep(|| p.parse_top())?;
    p.add(name.to_string(), root)?;
    Ok(p.trees)
}

struct Parser<'a> {
    name: &'a str,
    tokens: Vec<Token>,
    i: usize,
    last_line: usize,
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
    depth: usize,
    is_function: &'a dyn Fn(&str) -> bool,
    trees: Trees,
}

/// How an item list ended.
enum End {
    End,
    Else,
}

type Result<T> = std::result::Result<T, ParseError>;

impl<'a> Parser<'a> {
    fn next(&mut self) -> Token {
        let t = self.tokens[self.i.min(self.tokens.len() - 1)].clone();
        if self.i < self.tokens.len() {
            self.i += 1;
        }
        self.last_line = t.line;
        t
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn peek(&mut self) -> Token {
        let t = self.next();
        self.backup();
        t
    }

    fn next_non_space(&mut self) -> Token {
        loop {
            let t = self.next();
            if t.tok != Tok::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Token {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        let pos = self.tokens[self.i.saturating_sub(1).min(self.tokens.len() - 1)].pos;
        ParseError {
            name: self.name.to_string(),
            line: self.last_line,
            pos,
            message: message.into(),
        }
    }

    fn unexpected(&self, t: &Token, context: &str) -> ParseError {
        if t.tok == Tok::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != t.line {
                extra = format!(" in action started at {}:{}", self.name, self.action_line);
                if t.text.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.error(format!("{}{extra}", t.describe()));
        }
        self.error(format!("unexpected {} in {context}", t.describe()))
    }

    fn expect(&mut self, tok: Tok, context: &str) -> Result<Token> {
        let t = self.next_non_space();
        if t.tok != tok {
            return Err(self.unexpected(&t, context));
        }
        Ok(t)
    }

    fn deeper(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("max expression depth exceeded"));
        }
        Ok(())
    }

    /// Adds a tree; a second non-empty definition of a name is an error.
    fn add(&mut self, name: String, list: List) -> Result<()> {
        match self.trees.trees.get(&name) {
            Some(old) if !is_empty(old) && !is_empty(&list) => Err(ParseError {
                name: self.name.to_string(),
                line: 0,
                pos: 0,
                message: format!(
                    "template: multiple definition of template {}",
                    super::fmt::quote(&name)
                ),
            }),
            Some(old) if !is_empty(old) => Ok(()),
            _ => {
                self.trees.trees.insert(name, list);
                Ok(())
            }
        }
    }

    fn parse_top(&mut self) -> Result<List> {
        let mut root = List::default();
        while self.peek().tok != Tok::Eof {
            if self.peek().tok == Tok::LeftDelim {
                let mark = self.i;
                self.next();
                if self.next_non_space().tok == Tok::Define {
                    self.definition()?;
                    continue;
                }
                self.i = mark;
            }
            match self.text_or_action()? {
                Item::Node(n) => root.nodes.push(n),
                Item::End => return Err(self.error("unexpected {{end}}")),
                Item::Else => return Err(self.error("unexpected {{else}}")),
            }
        }
        Ok(root)
    }

    fn definition(&mut self) -> Result<()> {
        let context = "define clause";
        let t = self.next_non_space();
        let name = match t.tok {
            Tok::String | Tok::RawString => unquote(&t.text).map_err(|e| self.error(e))?,
            _ => return Err(self.unexpected(&t, context)),
        };
        self.expect(Tok::RightDelim, context)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        if let End::Else = end {
            return Err(self.error(format!("unexpected {{{{else}}}} in {context}")));
        }
        self.add(name, list)
    }

    /// Nodes up to `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> Result<(List, End)> {
        let mut list = List::default();
        while self.peek_non_space().tok != Tok::Eof {
            match self.text_or_action()? {
                Item::Node(n) => list.nodes.push(n),
                Item::End => return Ok((list, End::End)),
                Item::Else => return Ok((list, End::Else)),
            }
        }
        Err(self.error("unexpected EOF"))
    }

    fn text_or_action(&mut self) -> Result<Item> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Text => Ok(Item::Node(Node::Text(t.text.to_string()))),
            Tok::LeftDelim => {
                self.action_line = t.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&t, "input")),
        }
    }

    fn action(&mut self) -> Result<Item> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Block => return self.block().map(Item::Node),
            Tok::Break | Tok::Continue => {
                let word = if t.tok == Tok::Break {
                    "break"
                } else {
                    "continue"
                };
                let n = self.next_non_space();
                if n.tok != Tok::RightDelim {
                    return Err(self.unexpected(&n, &format!("{{{{{word}}}}}")));
                }
                if self.range_depth == 0 {
                    return Err(self.error(format!("{{{{{word}}}}} outside {{{{range}}}}")));
                }
                return Ok(Item::Node(if t.tok == Tok::Break {
                    Node::Break(t.pos)
                } else {
                    Node::Continue(t.pos)
                }));
            }
            Tok::Else => {
                let p = self.peek_non_space();
                if p.tok == Tok::If || p.tok == Tok::With {
                    return Ok(Item::Else);
                }
                self.expect(Tok::RightDelim, "else")?;
                return Ok(Item::Else);
            }
            Tok::End => {
                self.expect(Tok::RightDelim, "end")?;
                return Ok(Item::End);
            }
            Tok::If => {
                return crate::promql::deep(|| self.control("if")).map(|b| Item::Node(Node::If(b)))
            }
            Tok::Range => {
                return crate::promql::deep(|| self.control("range"))
                    .map(|b| Item::Node(Node::Range(b)))
            }
            Tok::With => {
                return crate::promql::deep(|| self.control("with"))
                    .map(|b| Item::Node(Node::With(b)))
            }
            Tok::Template => return self.template_call().map(Item::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", Tok::RightDelim)?;
        Ok(Item::Node(Node::Action(pipe)))
    }

    fn control(&mut self, context: &str) -> Result<Branch> {
        self.deeper()?;
        let mark = self.vars.len();
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, end) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let End::Else = end {
            let next = self.peek().tok;
            if (context == "if" && next == Tok::If) || (context == "with" && next == Tok::With) {
                self.next();
                let inner = self.control(context)?;
                let node = if context == "if" {
                    Node::If(inner)
                } else {
                    Node::With(inner)
                };
                else_list = Some(List { nodes: vec![node] });
            } else {
                let (l, end) = self.item_list()?;
                if let End::Else = end {
                    return Err(self.error("expected end; found {{else}}"));
                }
                else_list = Some(l);
            }
        }
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, t: &Token, context: &str) -> Result<String> {
        match t.tok {
            Tok::String | Tok::RawString => unquote(&t.text).map_err(|e| self.error(e)),
            _ => Err(self.unexpected(t, context)),
        }
    }

    fn template_call(&mut self) -> Result<Node> {
        let context = "template clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let mut pipe = None;
        if self.next_non_space().tok != Tok::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, Tok::RightDelim)?);
        }
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe,
        })
    }

    fn block(&mut self) -> Result<Node> {
        let context = "block clause";
        let t = self.next_non_space();
        let name = self.template_name(&t, context)?;
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        self.range_depth = saved_range;
        if let End::Else = end {
            return Err(self.error(format!("unexpected {{{{else}}}} in {context}")));
        }
        self.add(name.clone(), list)?;
        Ok(Node::Template {
            pos: t.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> Result<Pipe> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: start.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.tok != Tok::Variable {
                break;
            }
            let mark = self.i;
            self.next_non_space();
            let after = self.peek();
            let next = self.peek_non_space();
            match next.tok {
                Tok::Assign | Tok::Declare => {
                    pipe.is_assign = next.tok == Tok::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.text.to_string());
                    self.vars.push(v.text.to_string());
                }
                Tok::Char if &*next.text == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.text.to_string());
                    self.vars.push(v.text.to_string());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().tok {
                            Tok::Variable | Tok::RightDelim | Tok::RightParen => continue,
                            _ => return Err(self.error("range can only initialize variables")),
                        }
                    }
                    return Err(self.error(format!("too many declarations in {context}")));
                }
                _ => {
                    let _ = after;
                    self.i = mark;
                }
            }
            break;
        }
        loop {
            let t = self.next_non_space();
            if t.tok == end {
                self.check_pipeline(&pipe, context)?;
                return Ok(pipe);
            }
            match t.tok {
                Tok::Bool
                | Tok::CharConstant
                | Tok::Complex
                | Tok::Dot
                | Tok::Field
                | Tok::Identifier
                | Tok::Number
                | Tok::Nil
                | Tok::RawString
                | Tok::String
                | Tok::Variable
                | Tok::LeftParen => {
                    self.backup();
                    let c = self.command()?;
                    pipe.cmds.push(c);
                }
                _ => return Err(self.unexpected(&t, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> Result<()> {
        if pipe.cmds.is_empty() {
            return Err(self.error(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0].kind,
                ArgKind::Bool(_)
                    | ArgKind::Dot
                    | ArgKind::Nil
                    | ArgKind::Number(_)
                    | ArgKind::String(..)
            ) {
                return Err(self.error(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Result<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(a) = self.operand()? {
                cmd.args.push(a);
            }
            let t = self.next();
            match t.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RightParen => self.backup(),
                Tok::Pipe => {}
                _ => return Err(self.unexpected(&t, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.error("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> Result<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().tok != Tok::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().tok == Tok::Field {
            fields.push(self.next().text[1..].to_string());
        }
        let kind = match node.kind {
            ArgKind::Field(mut f) => {
                f.extend(fields);
                ArgKind::Field(f)
            }
            ArgKind::Variable(v, mut f) => {
                f.extend(fields);
                ArgKind::Variable(v, f)
            }
            ArgKind::Bool(_)
            | ArgKind::String(..)
            | ArgKind::Number(_)
            | ArgKind::Nil
            | ArgKind::Dot => {
                return Err(self.error(format!(
                    "unexpected . after term {}",
                    super::fmt::quote(&node.to_string())
                )))
            }
            kind => ArgKind::Chain(
                Box::new(Arg {
                    pos: node.pos,
                    kind,
                }),
                fields,
            ),
        };
        let _ = chain_pos;
        Ok(Some(Arg {
            pos: node.pos,
            kind,
        }))
    }

    fn term(&mut self) -> Result<Option<Arg>> {
        let t = self.next_non_space();
        let kind = match t.tok {
            Tok::Identifier => {
                if !(self.is_function)(&t.text) {
                    return Err(self.error(format!(
                        "function {} not defined",
                        super::fmt::quote(&t.text)
                    )));
                }
                ArgKind::Identifier(t.text.to_string())
            }
            Tok::Dot => ArgKind::Dot,
            Tok::Nil => ArgKind::Nil,
            Tok::Variable => {
                let mut parts = t.text.split('.');
                let var = parts.next().unwrap_or("$").to_string();
                let fields: Vec<String> = parts.map(str::to_string).collect();
                if !self.vars.contains(&var) {
                    return Err(
                        self.error(format!("undefined variable {}", super::fmt::quote(&var)))
                    );
                }
                ArgKind::Variable(var, fields)
            }
            Tok::Field => ArgKind::Field(vec![t.text[1..].to_string()]),
            Tok::Bool => ArgKind::Bool(&*t.text == "true"),
            Tok::CharConstant | Tok::Complex | Tok::Number => {
                ArgKind::Number(number(&t).map_err(|e| self.error(e))?)
            }
            Tok::LeftParen => {
                self.deeper()?;
                let p = crate::promql::deep(|| {
                    self.pipeline("parenthesized pipeline", Tok::RightParen)
                })?;
                self.depth -= 1;
                ArgKind::Pipe(p)
            }
            Tok::String | Tok::RawString => {
                let s = unquote(&t.text).map_err(|e| self.error(e))?;
                ArgKind::String(s, t.text.to_string())
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(Arg { pos: t.pos, kind }))
    }
}

enum Item {
    Node(Node),
    End,
    Else,
}

/// Calls `f` on every operand of a tree (with the two operands after it in its command,
/// for `index $labels "x"`, and whether dot is still the data: not inside `range` or
/// `with`), outside-in.
pub fn visit(list: &List, f: &mut impl FnMut(&Arg, Option<(&Arg, &Arg)>, bool)) {
    visit_in(list, true, f)
}

/// [`visit`], saying whether dot is the data at the start.
pub fn visit_in(list: &List, root: bool, f: &mut impl FnMut(&Arg, Option<(&Arg, &Arg)>, bool)) {
    fn pipe(p: &Pipe, root: bool, f: &mut impl FnMut(&Arg, Option<(&Arg, &Arg)>, bool)) {
        for c in &p.cmds {
            for (i, a) in c.args.iter().enumerate() {
                let next = match (c.args.get(i + 1), c.args.get(i + 2)) {
                    (Some(x), Some(y)) => Some((x, y)),
                    _ => None,
                };
                arg(a, next, root, f);
            }
        }
    }
    fn arg(
        a: &Arg,
        next: Option<(&Arg, &Arg)>,
        root: bool,
        f: &mut impl FnMut(&Arg, Option<(&Arg, &Arg)>, bool),
    ) {
        f(a, next, root);
        match &a.kind {
            ArgKind::Pipe(p) => crate::promql::deep(|| pipe(p, root, f)),
            ArgKind::Chain(n, _) => crate::promql::deep(|| arg(n, None, root, f)),
            _ => {}
        }
    }
    for n in &list.nodes {
        match n {
            Node::Action(p) => pipe(p, root, f),
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                pipe(&b.pipe, root, f);
                let inner = root && matches!(n, Node::If(_));
                crate::promql::deep(|| visit_in(&b.list, inner, f));
                if let Some(e) = &b.else_list {
                    crate::promql::deep(|| visit_in(e, root, f));
                }
            }
            Node::Template { pipe: Some(p), .. } => pipe(p, root, f),
            _ => {}
        }
    }
}

fn is_empty(l: &List) -> bool {
    l.nodes.iter().all(|n| match n {
        Node::Text(t) => t.trim().is_empty(),
        _ => false,
    })
}

/// Go's `strconv.Unquote` of a string token.
fn unquote(s: &str) -> std::result::Result<String, String> {
    if let Some(raw) = s.strip_prefix('`') {
        return Ok(raw.strip_suffix('`').unwrap_or(raw).replace('\r', ""));
    }
    let inner = s
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .ok_or("invalid syntax")?;
    let mut out = String::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let (c, tail) = unquote_char(rest, '"')?;
        out.push_str(&c);
        rest = tail;
    }
    Ok(out)
}

/// One (possibly escaped) character of a quoted literal.
fn unquote_char(s: &str, quote: char) -> std::result::Result<(String, &str), String> {
    let bad = || "invalid syntax".to_string();
    let mut chars = s.chars();
    let c = chars.next().ok_or_else(bad)?;
    if c == quote && (quote == '\'' || quote == '"') {
        return Err(bad());
    }
    if c != '\\' {
        return Ok((c.to_string(), chars.as_str()));
    }
    let e = chars.next().ok_or_else(bad)?;
    let rest = chars.as_str();
    let simple = match e {
        '\'' | '"' => {
            if e != quote {
                return Err(bad());
            }
            Some(e)
        }
        e => crate::model::quote::simple_escape(e),
    };
    if let Some(c) = simple {
        return Ok((c.to_string(), rest));
    }
    let hex = |n: usize| -> std::result::Result<(u32, &str), String> {
        if rest.len() < n || !rest.is_char_boundary(n) {
            return Err(bad());
        }
        let v = u32::from_str_radix(&rest[..n], 16).map_err(|_| bad())?;
        Ok((v, &rest[n..]))
    };
    match e {
        'x' => {
            let (v, tail) = hex(2)?;
            // A byte; text above 0x7f is not valid UTF-8 on its own.
            Ok((char::from(v as u8).to_string(), tail))
        }
        'u' | 'U' => {
            let (v, tail) = hex(if e == 'u' { 4 } else { 8 })?;
            let c = char::from_u32(v).ok_or_else(bad)?;
            Ok((c.to_string(), tail))
        }
        '0'..='7' => {
            if rest.len() < 2 {
                return Err(bad());
            }
            let v = u32::from_str_radix(&format!("{e}{}", &rest[..2]), 8).map_err(|_| bad())?;
            if v > 255 {
                return Err(bad());
            }
            Ok((char::from(v as u8).to_string(), &rest[2..]))
        }
        _ => Err(bad()),
    }
}

/// A number token as Go types it.
fn number(t: &Token) -> std::result::Result<Number, String> {
    let text = &t.text.to_string();
    let mut n = Number {
        text: text.clone(),
        int: None,
        float: None,
        is_complex: false,
        int_like: false,
    };
    if t.tok == Tok::CharConstant {
        let inner = &text[1..];
        let (c, tail) = unquote_char(inner, '\'')?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let r = c.chars().next().map_or(0, |c| c as i64);
        n.int = Some(r);
        n.float = Some(r as f64);
        n.int_like = true;
        return Ok(n);
    }
    if t.tok == Tok::Complex || text.ends_with('i') {
        n.is_complex = true;
        return Ok(n);
    }
    let clean = text.replace('_', "");
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let lower = body.to_ascii_lowercase();
    let parsed = if let Some(h) = lower.strip_prefix("0x") {
        n.int_like = !h.contains('.') && !h.contains('p');
        if n.int_like {
            i128::from_str_radix(h, 16).ok()
        } else {
            None
        }
    } else if let Some(o) = lower.strip_prefix("0o") {
        i128::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i128::from_str_radix(b, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        i128::from_str_radix(&lower[1..], 8).ok()
    } else if lower.bytes().all(|b| b.is_ascii_digit()) && !lower.is_empty() {
        lower.parse::<i128>().ok()
    } else {
        None
    };
    if let Some(v) = parsed {
        let v = if neg { -v } else { v };
        if let Ok(i) = i64::try_from(v) {
            n.int = Some(i);
            n.float = Some(i as f64);
        } else if !neg && u64::try_from(v).is_ok() {
            n.float = Some(v as f64);
        }
    } else if let Some(f) = parse_go_float(&lower) {
        if !lower.contains(['.', 'e', 'p']) {
            return Err(format!("integer overflow: {}", super::fmt::quote(text)));
        }
        let f = if neg { -f } else { f };
        n.float = Some(f);
        if f.fract() == 0.0 && f.abs() < 9.2e18 {
            n.int = Some(f as i64);
        }
    }
    if n.int.is_none() && n.float.is_none() {
        return Err(format!(
            "illegal number syntax: {}",
            super::fmt::quote(text)
        ));
    }
    Ok(n)
}

/// A decimal or hexadecimal float literal.
fn parse_go_float(s: &str) -> Option<f64> {
    if let Some(h) = s.strip_prefix("0x") {
        let (mant, exp) = h.split_once('p')?;
        let exp: i32 = exp.parse().ok()?;
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let mut v = 0f64;
        for c in int.chars().chain(frac.chars()) {
            v = v * 16.0 + c.to_digit(16)? as f64;
        }
        return Some(v * 2f64.powi(exp - 4 * frac.len() as i32));
    }
    if s.is_empty()
        || s.contains(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-')))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if let ArgKind::Pipe(p) = &a.kind {
                write!(f, "({p})")?;
            } else {
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ArgKind::Field(fs) => {
                for x in fs {
                    write!(f, ".{x}")?;
                }
                Ok(())
            }
            ArgKind::Variable(v, fs) => {
                f.write_str(v)?;
                for x in fs {
                    write!(f, ".{x}")?;
                }
                Ok(())
            }
            ArgKind::Chain(n, fs) => {
                if let ArgKind::Pipe(p) = &n.kind {
                    write!(f, "({p})")?;
                } else {
                    write!(f, "{n}")?;
                }
                for x in fs {
                    write!(f, ".{x}")?;
                }
                Ok(())
            }
            ArgKind::Identifier(s) => f.write_str(s),
            ArgKind::Dot => f.write_str("."),
            ArgKind::Nil => f.write_str("nil"),
            ArgKind::Bool(b) => write!(f, "{b}"),
            ArgKind::Number(n) => f.write_str(&n.text),
            ArgKind::String(_, quoted) => f.write_str(quoted),
            ArgKind::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text(t) => f.write_str(&super::fmt::quote(t)),
            Node::Action(p) => write!(f, "{{{{{p}}}}}"),
            Node::If(b) => write_branch(f, "if", b),
            Node::Range(b) => write_branch(f, "range", b),
            Node::With(b) => write_branch(f, "with", b),
            Node::Template { name, pipe, .. } => match pipe {
                Some(p) => write!(f, "{{{{template {} {p}}}}}", super::fmt::quote(name)),
                None => write!(f, "{{{{template {}}}}}", super::fmt::quote(name)),
            },
            Node::Break(_) => f.write_str("{{break}}"),
            Node::Continue(_) => f.write_str("{{continue}}"),
        }
    }
}

fn write_branch(f: &mut fmt::Formatter<'_>, word: &str, b: &Branch) -> fmt::Result {
    crate::promql::deep(|| write_branch_inner(f, word, b))
}

fn write_branch_inner(f: &mut fmt::Formatter<'_>, word: &str, b: &Branch) -> fmt::Result {
    write!(f, "{{{{{word} {}}}}}", b.pipe)?;
    for n in &b.list.nodes {
        write!(f, "{n}")?;
    }
    if let Some(e) = &b.else_list {
        f.write_str("{{else}}")?;
        for n in &e.nodes {
            write!(f, "{n}")?;
        }
    }
    f.write_str("{{end}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse("t", text, &|n| n == "f" || n == "printf")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_read_as_go() {
        assert_eq!(
            err("{{ $labels.x }"),
            "template: t:1: undefined variable \"$labels\""
        );
        assert_eq!(err("{{ .x }"), "template: t:1: unexpected \"}\" in operand");
        assert_eq!(err("{{ g }}"), "template: t:1: function \"g\" not defined");
        assert_eq!(err("{{ if .x }}"), "template: t:1: unexpected EOF");
        assert_eq!(err("{{ end }}"), "template: t:1: unexpected {{end}}");
        assert_eq!(err("{{ }}"), "template: t:1: missing value for command");
        assert_eq!(
            err("{{ 1 | 2 }}"),
            "template: t:1: non executable command in pipeline stage 2"
        );
        assert_eq!(
            err("{{ break }}"),
            "template: t:1: {{break}} outside {{range}}"
        );
        assert_eq!(
            err("a\n{{ .x\n"),
            "template: t:3: unclosed action started at t:2"
        );
        assert_eq!(
            err("{{ \"a\".b }}"),
            "template: t:1: unexpected . after term \"\\\"a\\\"\""
        );
    }

    #[test]
    fn trees_and_defines() {
        let t = parse(
            "t",
            "{{define \"x\"}}X{{end}}a{{template \"x\" .}}",
            &|_| false,
        )
        .unwrap();
        assert_eq!(t.trees.len(), 2);
        assert_eq!(t.trees["t"].nodes.len(), 2);
        let t = parse(
            "t",
            "{{ $x := 1 }}{{ if $x }}{{ $x = 2 }}{{ else if .y }}{{ end }}",
            &|_| false,
        )
        .unwrap();
        assert_eq!(
            t.trees["t"].nodes[1].to_string(),
            "{{if $x}}{{$x = 2}}{{else}}{{if .y}}{{end}}{{end}}"
        );
    }
}
