//! The executor: walks a parsed template over a data value and writes the output, with Go's
//! semantics (truth, variable scopes, `range` over maps in key order, pipelines passing
//! their value as the last argument, the checks Go makes when a value is handed to a
//! function) and Go's error texts:
//! `template: NAME:LINE:COL: executing "NAME" at <NODE>: MESSAGE`.
//!
//! Execution is bounded where Go's is not: output stops at [`MAX_OUTPUT`] bytes and work at
//! [`MAX_STEPS`] evaluated nodes, so that no template can run forever or fill memory.

use std::rc::Rc;

use super::fmt::{display, quote};
use super::funcs::{Env, Func, Param};
use super::parse::{Arg, ArgKind, Branch, Command, List, Node, Number, Pipe, Trees};
use super::value::{Map, MapKind, Value};

/// The most output one execution may write.
pub const MAX_OUTPUT: usize = 16 << 20;
/// The most nodes one execution may evaluate.
pub const MAX_STEPS: usize = 10_000_000;
/// How deep `{{template}}` calls may nest (Go allows 100,000).
pub const MAX_CALL_DEPTH: usize = 10_000;

/// An execution error, worded as Go's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecError(pub String);

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExecError {}

/// Why a walk stopped early.
enum Stop {
    Break,
    Continue,
    Error(ExecError),
}

type Result<T> = std::result::Result<T, Stop>;

/// The node execution is at, for error messages.
#[derive(Clone, Copy)]
enum At<'t> {
    None,
    Node(&'t Node),
    Pipe(&'t Pipe),
    Command(&'t Command),
    Arg(&'t Arg),
    /// A template call: its position and its text.
    Template(usize, &'t Node),
}

pub(super) struct State<'t, 'e> {
    /// The name the template set was parsed as (error locations).
    parse_name: &'t str,
    /// The template being executed (`executing "NAME"`).
    name: String,
    text: &'t str,
    trees: &'t Trees,
    env: &'e Env<'e>,
    vars: Vec<(String, Value)>,
    pub out: String,
    at: At<'t>,
    steps: usize,
    depth: usize,
}

impl<'t, 'e> State<'t, 'e> {
    pub(super) fn new(
        parse_name: &'t str,
        text: &'t str,
        trees: &'t Trees,
        env: &'e Env<'e>,
    ) -> Self {
        State {
            parse_name,
            name: parse_name.to_string(),
            text,
            trees,
            env,
            vars: Vec::new(),
            out: String::new(),
            at: At::None,
            steps: 0,
            depth: 0,
        }
    }

    /// Runs the template `name` with `data` as dot.
    pub(super) fn run(
        &mut self,
        name: &str,
        data: Value,
        header_vars: &[(&str, &str)],
    ) -> std::result::Result<(), ExecError> {
        let Some(list) = self.trees.trees.get(name) else {
            return Err(ExecError(format!(
                "template: no template {} associated with template {}",
                quote(name),
                quote(self.parse_name)
            )));
        };
        self.vars = vec![("$".to_string(), data.clone())];
        for (var, field) in header_vars {
            let v = match self.eval_field(field, data.clone(), false) {
                Ok(v) => v,
                Err(Stop::Error(e)) => return Err(e),
                Err(_) => Value::Missing,
            };
            self.vars.push((var.to_string(), v));
        }
        match crate::promql::deep(|| self.walk_list(&data, list)) {
            Ok(()) => Ok(()),
            Err(Stop::Error(e)) => Err(e),
            Err(Stop::Break | Stop::Continue) => Ok(()),
        }
    }

    fn pos_of(&self, at: At<'t>) -> Option<(usize, String)> {
        Some(match at {
            At::None => return None,
            At::Node(n) => (node_pos(n), n.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Command(c) => (c.pos, c.to_string()),
            At::Arg(a) => (a.pos, a.to_string()),
            At::Template(pos, n) => (pos, n.to_string()),
        })
    }

    fn error(&self, msg: impl std::fmt::Display) -> Stop {
        let text = match self.pos_of(self.at) {
            None => format!("template: {}: {msg}", self.name),
            Some((pos, context)) => {
                let pos = pos.min(self.text.len());
                let before = &self.text.as_bytes()[..pos];
                let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
                let col = match before.iter().rposition(|&b| b == b'\n') {
                    Some(i) => pos - (i + 1),
                    None => pos,
                };
                format!(
                    "template: {}:{line}:{col}: executing {} at <{context}>: {msg}",
                    self.parse_name,
                    quote(&self.name)
                )
            }
        };
        Stop::Error(ExecError(text))
    }

    fn step(&mut self) -> Result<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(self.error(format!("template execution exceeds {MAX_STEPS} steps")));
        }
        Ok(())
    }

    fn write(&mut self, s: &str) -> Result<()> {
        if self.out.len() + s.len() > MAX_OUTPUT {
            return Err(self.error(format!("template output exceeds {} MiB", MAX_OUTPUT >> 20)));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn walk_list(&mut self, dot: &Value, list: &'t List) -> Result<()> {
        for n in &list.nodes {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &'t Node) -> Result<()> {
        crate::promql::deep(|| self.walk_node(dot, node))
    }

    fn walk_node(&mut self, dot: &Value, node: &'t Node) -> Result<()> {
        self.step()?;
        self.at = At::Node(node);
        match node {
            Node::Text(t) => self.write(t),
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.at = At::Node(node);
                    let s = printable(&v);
                    self.write(&s)?;
                }
                Ok(())
            }
            Node::If(b) => self.walk_if_or_with(dot, b, false),
            Node::With(b) => self.walk_if_or_with(dot, b, true),
            Node::Range(b) => self.walk_range(dot, b, node),
            Node::Break(_) => Err(Stop::Break),
            Node::Continue(_) => Err(Stop::Continue),
            Node::Template { pos, name, pipe } => {
                self.at = At::Template(*pos, node);
                let Some(list) = self.trees.trees.get(name) else {
                    return Err(self.error(format!("template {} not defined", quote(name))));
                };
                if self.depth >= MAX_CALL_DEPTH {
                    return Err(self.error(format!(
                        "exceeded maximum template depth ({MAX_CALL_DEPTH})"
                    )));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Missing,
                };
                // A called template sees only `$`, set to its dot.
                let saved_vars =
                    std::mem::replace(&mut self.vars, vec![("$".to_string(), new_dot.clone())]);
                let saved_name = std::mem::replace(&mut self.name, name.clone());
                self.depth += 1;
                let r = crate::promql::deep(|| self.walk_list(&new_dot, list));
                self.depth -= 1;
                self.name = saved_name;
                self.vars = saved_vars;
                r
            }
        }
    }

    fn walk_if_or_with(&mut self, dot: &Value, b: &'t Branch, with: bool) -> Result<()> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &b.pipe)?;
        let r = if v.truth() {
            if with {
                self.walk_list(&v, &b.list)
            } else {
                self.walk_list(dot, &b.list)
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e)
        } else {
            Ok(())
        };
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value, b: &'t Branch, node: &'t Node) -> Result<()> {
        self.at = At::Node(node);
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let items: Vec<(Value, Value)> = match &val {
            Value::Map(m) => m
                .entries
                .iter()
                .map(|(k, v)| (Value::str(k), v.clone()))
                .collect(),
            Value::Samples(list) => list
                .iter()
                .enumerate()
                .map(|(i, s)| (Value::Int(i as i64), Value::Sample(s.clone())))
                .collect(),
            Value::Int(n) => {
                if b.pipe.decl.len() > 1 {
                    self.at = At::Node(node);
                    return Err(self.error(format!(
                        "can't use {} to iterate over more than one variable",
                        display(&val)
                    )));
                }
                (0..(*n).max(0))
                    .map(|i| (Value::Int(i), Value::Int(i)))
                    .collect()
            }
            Value::Missing | Value::Nil => Vec::new(),
            other => {
                self.at = At::Node(node);
                return Err(self.error(format!("range can't iterate over {}", display(other))));
            }
        };
        let inner = self.vars.len();
        let mut ran = false;
        for (index, elem) in items {
            ran = true;
            let decl = &b.pipe.decl;
            if !decl.is_empty() {
                if b.pipe.is_assign {
                    if decl.len() > 1 {
                        self.set_var(&decl[0], index.clone())?;
                        self.set_var(&decl[1], elem.clone())?;
                    } else {
                        self.set_var(&decl[0], elem.clone())?;
                    }
                } else {
                    let n = self.vars.len();
                    self.vars[n - 1].1 = elem.clone();
                    if decl.len() > 1 {
                        self.vars[n - 2].1 = index.clone();
                    }
                }
            }
            let r = self.walk_list(&elem, &b.list);
            self.vars.truncate(inner);
            match r {
                Ok(()) | Err(Stop::Continue) => {}
                Err(Stop::Break) => break,
                Err(e) => return Err(e),
            }
        }
        let r = if !ran {
            match &b.else_list {
                Some(e) => self.walk_list(dot, e),
                None => Ok(()),
            }
        } else {
            Ok(())
        };
        self.vars.truncate(mark);
        r
    }

    fn set_var(&mut self, name: &str, v: Value) -> Result<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => Err(self.error(format!("undefined variable: {name}"))),
        }
    }

    fn var_value(&self, name: &str) -> Result<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.error(format!("undefined variable: {name}"))),
        }
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &'t Pipe) -> Result<Value> {
        self.at = At::Pipe(pipe);
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Missing);
        for v in &pipe.decl {
            if pipe.is_assign {
                self.set_var(v, value.clone())?;
            } else {
                self.vars.push((v.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Value>) -> Result<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.error(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value,
        cmd: &'t Command,
        final_: Option<Value>,
    ) -> Result<Value> {
        self.step()?;
        let first = &cmd.args[0];
        match &first.kind {
            ArgKind::Field(fields) => {
                self.at = At::Arg(first);
                return self.eval_field_chain(dot, dot.clone(), fields, &cmd.args, final_);
            }
            ArgKind::Chain(node, fields) => {
                self.at = At::Arg(first);
                if let ArgKind::Nil = node.kind {
                    return Err(self.error(format!("indirection through explicit nil in {first}")));
                }
                let v = self.eval_arg(dot, Param::Value, node)?;
                self.at = At::Arg(first);
                return self.eval_field_chain(dot, v, fields, &cmd.args, final_);
            }
            ArgKind::Identifier(name) => {
                self.at = At::Arg(first);
                return self.eval_function(dot, name, cmd, &cmd.args, final_);
            }
            ArgKind::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                return crate::promql::deep(|| self.eval_pipeline(dot, p));
            }
            ArgKind::Variable(name, fields) => {
                self.at = At::Arg(first);
                let v = self.var_value(name)?;
                if fields.is_empty() {
                    self.not_a_function(&cmd.args, &final_)?;
                    return Ok(v);
                }
                return self.eval_field_chain(dot, v, fields, &cmd.args, final_);
            }
            _ => {}
        }
        self.at = At::Arg(first);
        self.not_a_function(&cmd.args, &final_)?;
        match &first.kind {
            ArgKind::Bool(b) => Ok(Value::Bool(*b)),
            ArgKind::Dot => Ok(dot.clone()),
            ArgKind::Nil => Err(self.error("nil is not a command")),
            ArgKind::Number(n) => self.ideal_constant(n),
            ArgKind::String(s, _) => Ok(Value::str(s)),
            _ => Err(self.error(format!(
                "can't evaluate command {}",
                quote(&first.to_string())
            ))),
        }
    }

    fn ideal_constant(&self, n: &Number) -> Result<Value> {
        if n.is_complex {
            return Err(self.error(format!("complex constant {} is not supported", n.text)));
        }
        let looks_float = !n.int_like && n.text.contains(['.', 'e', 'E', 'p', 'P']);
        match (n.float, n.int) {
            (Some(f), _) if looks_float => Ok(Value::Float(f)),
            (_, Some(i)) => Ok(Value::Int(i)),
            _ => Err(self.error(format!("{} overflows int", n.text))),
        }
    }

    /// `.a.b.c` on `receiver`: every field but the last is looked up plainly; the last may
    /// take the command's arguments (only methods could, and these values have none).
    fn eval_field_chain(
        &mut self,
        _dot: &Value,
        mut receiver: Value,
        fields: &[String],
        args: &[Arg],
        final_: Option<Value>,
    ) -> Result<Value> {
        let n = fields.len();
        for (i, f) in fields.iter().enumerate() {
            let has_args = i == n - 1 && (args.len() > 1 || final_.is_some());
            receiver = self.eval_field(f, receiver, has_args)?;
        }
        Ok(receiver)
    }

    fn eval_field(&mut self, name: &str, receiver: Value, has_args: bool) -> Result<Value> {
        match &receiver {
            Value::Missing | Value::Nil => Ok(Value::Missing),
            Value::Map(m) => match m.kind {
                MapKind::Struct(ty, _) => match m.entries.get(name) {
                    Some(v) => {
                        if has_args {
                            return Err(self.error(format!(
                                "{name} has arguments but cannot be invoked as function"
                            )));
                        }
                        Ok(v.clone())
                    }
                    None => Err(self.error(format!("can't evaluate field {name} in type {ty}"))),
                },
                _ => {
                    if has_args {
                        return Err(self.error(format!("{name} is not a method but has arguments")));
                    }
                    // Prometheus runs templates with `missingkey=zero`: a label that is not
                    // there is the empty string.
                    Ok(match (m.entries.get(name), m.kind) {
                        (Some(v), _) => v.clone(),
                        (None, MapKind::Strings) => Value::str(""),
                        (None, _) => Value::Missing,
                    })
                }
            },
            Value::Sample(s) => match name {
                "Labels" | "Value" if has_args => Err(self.error(format!(
                    "{name} has arguments but cannot be invoked as function"
                ))),
                "Labels" => Ok(Value::labels(
                    s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                )),
                "Value" => Ok(Value::Float(s.value)),
                _ => Err(self.error(format!(
                    "can't evaluate field {name} in type {}",
                    receiver.type_name()
                ))),
            },
            other => Err(self.error(format!(
                "can't evaluate field {name} in type {}",
                other.type_name()
            ))),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        cmd: &'t Command,
        args: &'t [Arg],
        final_: Option<Value>,
    ) -> Result<Value> {
        let Some(func) = Func::from_name(name) else {
            return Err(self.error(format!("{} is not a defined function", quote(name))));
        };
        self.eval_call(dot, func, At::Command(cmd), name, &args[1..], final_)
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        func: Func,
        at: At<'t>,
        name: &str,
        args: &'t [Arg],
        final_: Option<Value>,
    ) -> Result<Value> {
        let sig = func.signature();
        let num_in = args.len() + usize::from(final_.is_some());
        match sig.variadic {
            Some(_) if num_in < sig.fixed.len() => {
                return Err(self.error(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    sig.fixed.len(),
                    args.len()
                )))
            }
            None if num_in != sig.fixed.len() => {
                return Err(self.error(format!(
                    "wrong number of args for {name}: want {} got {num_in}",
                    sig.fixed.len()
                )))
            }
            _ => {}
        }
        let param = |i: usize| -> Param {
            sig.fixed
                .get(i)
                .copied()
                .or(sig.variadic)
                .expect("arity checked")
        };
        if matches!(func, Func::And | Func::Or) {
            let or = func == Func::Or;
            let mut v = Value::Missing;
            for a in args {
                v = self.eval_arg(dot, Param::Value, a)?;
                if v.truth() == or {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            argv.push(self.eval_arg(dot, param(i), a)?);
        }
        if let Some(f) = final_ {
            let p = param(num_in - 1);
            argv.push(self.validate(f, p)?);
        }
        self.at = at;
        match func.call(self.env, argv) {
            Ok(v) => Ok(v),
            Err(e) => Err(self.error(format!("error calling {name}: {e}"))),
        }
    }

    /// Go's `validateType`: whether a computed value may be passed as `param`.
    fn validate(&self, v: Value, param: Param) -> Result<Value> {
        let fits = match (&v, param) {
            (_, Param::Value) => return Ok(v),
            (Value::Missing, Param::Any) => return Ok(Value::Nil),
            (Value::Missing | Value::Nil, Param::Sample) => return Ok(Value::Nil),
            (Value::Missing | Value::Nil, Param::Samples) => {
                return Ok(Value::Samples(Rc::new(Vec::new())))
            }
            (Value::Missing, _) => {
                return Err(self.error(format!("invalid value; expected {}", param.type_name())))
            }
            (_, Param::Any) => true,
            (Value::Str(_), Param::Str) => true,
            (Value::Float(_), Param::Float) => true,
            (Value::Int(_), Param::Int) => true,
            (Value::Sample(_), Param::Sample) => true,
            (Value::Samples(_), Param::Samples) => true,
            _ => false,
        };
        if fits {
            return Ok(v);
        }
        Err(self.error(format!(
            "wrong type for value; expected {}; got {}",
            param.type_name(),
            v.type_name()
        )))
    }

    fn eval_arg(&mut self, dot: &Value, param: Param, a: &'t Arg) -> Result<Value> {
        self.at = At::Arg(a);
        let computed = match &a.kind {
            ArgKind::Dot => Some(dot.clone()),
            ArgKind::Nil => {
                return match param {
                    Param::Any | Param::Value | Param::Sample => Ok(Value::Nil),
                    Param::Samples => Ok(Value::Samples(Rc::new(Vec::new()))),
                    _ => Err(self.error(format!("cannot assign nil to {}", param.type_name()))),
                }
            }
            ArgKind::Field(fields) => Some(self.eval_field_chain(
                dot,
                dot.clone(),
                fields,
                std::slice::from_ref(a),
                None,
            )?),
            ArgKind::Variable(name, fields) => {
                let v = self.var_value(name)?;
                Some(if fields.is_empty() {
                    v
                } else {
                    self.eval_field_chain(dot, v, fields, &[], None)?
                })
            }
            ArgKind::Pipe(p) => Some(crate::promql::deep(|| self.eval_pipeline(dot, p))?),
            ArgKind::Identifier(name) => {
                let func = Func::from_name(name);
                let Some(func) = func else {
                    return Err(self.error(format!("{} is not a defined function", quote(name))));
                };
                Some(self.eval_call(dot, func, At::Arg(a), name, &[], None)?)
            }
            ArgKind::Chain(node, fields) => {
                if let ArgKind::Nil = node.kind {
                    return Err(self.error(format!("indirection through explicit nil in {a}")));
                }
                let v = self.eval_arg(dot, Param::Value, node)?;
                self.at = At::Arg(a);
                Some(self.eval_field_chain(dot, v, fields, &[], None)?)
            }
            _ => None,
        };
        if let Some(v) = computed {
            self.at = At::Arg(a);
            return self.validate(v, param);
        }
        // A literal.
        match (param, &a.kind) {
            (Param::Any | Param::Value, ArgKind::Bool(b)) => Ok(Value::Bool(*b)),
            (Param::Any | Param::Value, ArgKind::Number(n)) => self.ideal_constant(n),
            (Param::Any | Param::Value, ArgKind::String(s, _)) => Ok(Value::str(s)),
            (Param::Str, ArgKind::String(s, _)) => Ok(Value::str(s)),
            (Param::Str, _) => Err(self.error(format!("expected string; found {a}"))),
            (Param::Float, ArgKind::Number(n)) if n.float.is_some() && !n.is_complex => {
                Ok(Value::Float(n.float.unwrap_or(0.0)))
            }
            (Param::Float, _) => Err(self.error(format!("expected float; found {a}"))),
            (Param::Int, ArgKind::Number(n)) if n.int.is_some() && !n.is_complex => {
                Ok(Value::Int(n.int.unwrap_or(0)))
            }
            (Param::Int, _) => Err(self.error(format!("expected integer; found {a}"))),
            (p, _) => Err(self.error(format!(
                "can't handle {a} for arg of type {}",
                p.type_name()
            ))),
        }
    }
}

/// How the executor prints a value: `<no value>` for a missing one, a sample without its
/// pointer's `&`, everything else as `fmt.Print` would.
fn printable(v: &Value) -> String {
    match v {
        Value::Missing => "<no value>".into(),
        Value::Sample(_) => display(v).trim_start_matches('&').to_string(),
        _ => display(v),
    }
}

fn node_pos(n: &Node) -> usize {
    match n {
        Node::Text(_) => 0,
        Node::Action(p) => p.pos,
        Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
        Node::Template { pos, .. } => *pos,
        Node::Break(p) | Node::Continue(p) => *p,
    }
}

/// Builds a struct-like value (the alert template data): fields in declaration order for
/// printing, looked up by name.
pub fn struct_value(
    ty: &'static str,
    order: &'static [&'static str],
    fields: Vec<(&'static str, Value)>,
) -> Value {
    Value::Map(Rc::new(Map {
        kind: MapKind::Struct(ty, order),
        entries: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }))
}
