//! The lexer of Go's text/template language: a template's text becomes a list of tokens.
//!
//! Outside actions everything is text. An action runs from `{{` to `}}`; `{{- ` trims the
//! whitespace before it and ` -}}` the whitespace after it (the space is part of the
//! marker, so `{{-3}}` is the number -3). A comment `{{/* ... */}}` must sit directly
//! inside its delimiters (trim markers allowed) and produces no token. Inside an action the
//! lexer knows Go's words: fields (`.a.b`), variables (`$x`), identifiers, the keywords,
//! numbers, strings (quoted, raw and character constants), `(`, `)`, `|`, `=`, `:=`, and
//! single ASCII characters, which the parser rejects where they make no sense.
//!
//! Like Go's lexer, the first error ends the token list with an [`Tok::Error`] token carrying
//! the message; the parser reports it where it reads it.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    Error,
    Bool,
    Char,
    CharConstant,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // Keywords.
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl Tok {
    fn keyword(word: &str) -> Option<Tok> {
        Some(match word {
            "." => Tok::Dot,
            "block" => Tok::Block,
            "break" => Tok::Break,
            "continue" => Tok::Continue,
            "define" => Tok::Define,
            "else" => Tok::Else,
            "end" => Tok::End,
            "if" => Tok::If,
            "range" => Tok::Range,
            "nil" => Tok::Nil,
            "template" => Tok::Template,
            "with" => Tok::With,
            _ => return None,
        })
    }

    fn is_keyword(self) -> bool {
        matches!(
            self,
            Tok::Block
                | Tok::Break
                | Tok::Continue
                | Tok::Dot
                | Tok::Define
                | Tok::Else
                | Tok::End
                | Tok::If
                | Tok::Nil
                | Tok::Range
                | Tok::Template
                | Tok::With
        )
    }
}

/// A token: its kind, its text (an error's message), where it starts and its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub text: std::rc::Rc<str>,
    /// Byte offset in the template.
    pub pos: usize,
    /// 1-based line.
    pub line: usize,
}

impl Token {
    /// The token as Go's parser names it in messages: `EOF`, `<end>`, `"text"`, or the
    /// first ten characters of a long one followed by `...`.
    pub fn describe(&self) -> String {
        match self.tok {
            Tok::Eof => "EOF".into(),
            Tok::Error => self.text.to_string(),
            t if t.is_keyword() => format!("<{}>", self.text),
            _ if self.text.chars().count() > 10 => {
                let head: String = self.text.chars().take(10).collect();
                format!("{}...", super::fmt::quote(&head))
            }
            _ => super::fmt::quote(&self.text),
        }
    }
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

/// Splits a template into tokens; the last is [`Tok::Eof`] or [`Tok::Error`].
pub fn lex(input: &str) -> Vec<Token> {
    let mut l = Lexer {
        input,
        pos: 0,
        start: 0,
        line: 1,
        start_line: 1,
        paren_depth: 0,
        out: Vec::with_capacity(input.len() / 4 + 2),
        inside: false,
    };
    l.run();
    l.out
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
    line: usize,
    start_line: usize,
    paren_depth: usize,
    out: Vec<Token>,
    inside: bool,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

/// `%#U` of a character: `U+0023 '#'`.
fn char_u(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn backup(&mut self, c: char) {
        self.pos -= c.len_utf8();
        if c == '\n' {
            self.line -= 1;
        }
    }

    fn emit(&mut self, tok: Tok) {
        let text = self.input[self.start..self.pos].to_string();
        self.emit_text(tok, text);
    }

    fn emit_text(&mut self, tok: Tok, text: String) {
        self.out.push(Token {
            tok,
            text: text.into(),
            pos: self.start,
            line: self.start_line,
        });
        self.skip();
    }

    /// Drops the text read since the last token.
    fn skip(&mut self) {
        self.start = self.pos;
        self.start_line = self.line;
    }

    /// Ends the token list with an error.
    fn error(&mut self, msg: String) {
        self.out.push(Token {
            tok: Tok::Error,
            text: msg.into(),
            pos: self.start,
            line: self.start_line,
        });
    }

    fn run(&mut self) {
        loop {
            let ok = if self.inside {
                self.inside_action()
            } else {
                self.text()
            };
            if !ok {
                return;
            }
        }
    }

    /// Text up to the next action; false at the end of the input.
    fn text(&mut self) -> bool {
        if let Some(x) = self.rest().find(LEFT) {
            let delim_at = self.pos + x;
            let mut trim_len = 0;
            let after = &self.input[delim_at + LEFT.len()..];
            if has_left_trim(after) {
                let text = &self.input[self.pos..delim_at];
                trim_len = text.len() - text.trim_end_matches(is_space).len();
            }
            self.advance_to(delim_at);
            let text_end = delim_at - trim_len;
            if text_end > self.start {
                let text = self.input[self.start..text_end].to_string();
                let (start, line) = (self.start, self.start_line);
                self.out.push(Token {
                    tok: Tok::Text,
                    text: text.into(),
                    pos: start,
                    line,
                });
            }
            self.skip();
            return self.left_delim();
        }
        self.advance_to(self.input.len());
        if self.pos > self.start {
            let text = self.input[self.start..self.pos].to_string();
            let line = self.start_line;
            self.emit_text(Tok::Text, text);
            self.out.last_mut().expect("just pushed").line = line;
        }
        self.emit(Tok::Eof);
        false
    }

    /// Moves to byte `to`, counting lines.
    fn advance_to(&mut self, to: usize) {
        self.line += self.input[self.pos..to].matches('\n').count();
        self.pos = to;
    }

    /// At `{{`: a comment, or the start of an action.
    fn left_delim(&mut self) -> bool {
        self.pos += LEFT.len();
        let trim = has_left_trim(self.rest());
        let after_marker = if trim { 2 } else { 0 };
        if self.rest()[after_marker..].starts_with(LEFT_COMMENT) {
            self.pos += after_marker;
            self.skip();
            return self.comment();
        }
        self.emit(Tok::LeftDelim);
        self.pos += after_marker;
        self.skip();
        self.paren_depth = 0;
        self.inside = true;
        true
    }

    fn comment(&mut self) -> bool {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            self.error("unclosed comment".into());
            return false;
        };
        self.advance_to(self.pos + x + RIGHT_COMMENT.len());
        let (delim, trim) = self.at_right_delim();
        if !delim {
            self.error("comment ends before closing delimiter".into());
            return false;
        }
        self.pos += RIGHT.len() + if trim { 2 } else { 0 };
        if trim {
            self.skip_space();
        }
        self.skip();
        true
    }

    /// Whether the input is at `}}` or ` -}}` (and which).
    fn at_right_delim(&self) -> (bool, bool) {
        let r = self.rest();
        if has_right_trim(r) && r[2..].starts_with(RIGHT) {
            return (true, true);
        }
        (r.starts_with(RIGHT), false)
    }

    fn skip_space(&mut self) {
        let r = self.rest();
        let n = r.len() - r.trim_start_matches(is_space).len();
        self.advance_to(self.pos + n);
    }

    fn right_delim(&mut self, trim: bool) -> bool {
        if trim {
            self.pos += 2;
            self.skip();
        }
        self.pos += RIGHT.len();
        self.emit(Tok::RightDelim);
        if trim {
            self.skip_space();
            self.skip();
        }
        self.inside = false;
        true
    }

    fn inside_action(&mut self) -> bool {
        let (delim, trim) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return self.right_delim(trim);
            }
            self.error("unclosed left paren".into());
            return false;
        }
        let Some(c) = self.next() else {
            self.error("unclosed action".into());
            return false;
        };
        match c {
            c if is_space(c) => {
                self.backup(c);
                return self.space();
            }
            '=' => self.emit(Tok::Assign),
            ':' => {
                if self.next() != Some('=') {
                    self.error("expected :=".into());
                    return false;
                }
                self.emit(Tok::Declare);
            }
            '|' => self.emit(Tok::Pipe),
            '"' => return self.quote(),
            '`' => return self.raw_quote(),
            '$' => return self.field_or_variable(Tok::Variable),
            '\'' => return self.char_constant(),
            '.' => {
                if self.peek().is_some_and(|d| !d.is_ascii_digit()) {
                    return self.field_or_variable(Tok::Field);
                }
                if self.peek().is_none() {
                    return self.field_or_variable(Tok::Field);
                }
                self.backup(c);
                return self.number();
            }
            '+' | '-' | '0'..='9' => {
                self.backup(c);
                return self.number();
            }
            c if is_alphanumeric(c) => {
                self.backup(c);
                return self.identifier();
            }
            '(' => {
                self.emit(Tok::LeftParen);
                self.paren_depth += 1;
            }
            ')' => {
                self.emit(Tok::RightParen);
                if self.paren_depth == 0 {
                    self.error("unexpected right paren".into());
                    return false;
                }
                self.paren_depth -= 1;
            }
            c if c.is_ascii() && !c.is_ascii_control() => self.emit(Tok::Char),
            c => {
                self.error(format!("unrecognized character in action: {}", char_u(c)));
                return false;
            }
        }
        true
    }

    fn space(&mut self) -> bool {
        let mut n = 0;
        while self.peek().is_some_and(is_space) {
            self.next();
            n += 1;
        }
        // A space followed by `-}}` is a trim marker, not a space token.
        let before = &self.input[self.pos - 1..];
        if has_right_trim(before) && before[2..].starts_with(RIGHT) {
            self.backup(self.input[..self.pos].chars().next_back().expect("a space"));
            if n == 1 {
                return true;
            }
        }
        self.emit(Tok::Space);
        true
    }

    /// Reads letters and digits up to a terminator; false (with the error) if another
    /// character follows them.
    fn word(&mut self) -> bool {
        while let Some(c) = self.peek() {
            if !is_alphanumeric(c) {
                break;
            }
            self.next();
        }
        if !self.at_terminator() {
            let c = self.peek().expect("not at the end");
            self.error(format!("bad character {}", char_u(c)));
            return false;
        }
        true
    }

    fn identifier(&mut self) -> bool {
        if !self.word() {
            return false;
        }
        let word = &self.input[self.start..self.pos];
        let tok = match Tok::keyword(word) {
            Some(k) if k != Tok::Dot => k,
            _ if word == "true" || word == "false" => Tok::Bool,
            _ => Tok::Identifier,
        };
        self.emit(tok);
        true
    }

    fn field_or_variable(&mut self, tok: Tok) -> bool {
        if self.at_terminator() {
            self.emit(if tok == Tok::Variable {
                Tok::Variable
            } else {
                Tok::Dot
            });
            return true;
        }
        if !self.word() {
            return false;
        }
        self.emit(tok);
        true
    }

    /// Whether the next character can end a word.
    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            Some(_) => self.rest().starts_with(RIGHT),
        }
    }

    fn char_constant(&mut self) -> bool {
        self.quoted('\'', Tok::CharConstant, "unterminated character constant")
    }

    /// The rest of a quoted string or character constant: escapes skipped, a newline or
    /// the end before the closing quote is `unterminated`.
    fn quoted(&mut self, close: char, tok: Tok, unterminated: &str) -> bool {
        loop {
            match self.next() {
                Some('\\') => {
                    if let Some(c) = self.next() {
                        if c != '\n' {
                            continue;
                        }
                    }
                    self.error(unterminated.into());
                    return false;
                }
                None | Some('\n') => {
                    self.error(unterminated.into());
                    return false;
                }
                Some(c) if c == close => break,
                Some(_) => {}
            }
        }
        self.emit(tok);
        true
    }

    fn number(&mut self) -> bool {
        if !self.scan_number() {
            let text = &self.input[self.start..self.pos];
            self.error(format!("bad number syntax: {}", super::fmt::quote(text)));
            return false;
        }
        if matches!(self.peek(), Some('+' | '-')) {
            // A complex number: 1+2i.
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = &self.input[self.start..self.pos];
                self.error(format!("bad number syntax: {}", super::fmt::quote(text)));
                return false;
            }
            self.emit(Tok::Complex);
        } else {
            self.emit(Tok::Number);
        }
        true
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek() {
            Some(c) if valid.contains(c) => {
                self.next();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if self.peek().is_some_and(is_alphanumeric) {
            self.next();
            return false;
        }
        true
    }

    fn quote(&mut self) -> bool {
        self.quoted('"', Tok::String, "unterminated quoted string")
    }

    fn raw_quote(&mut self) -> bool {
        loop {
            match self.next() {
                None => {
                    self.error("unterminated raw quoted string".into());
                    return false;
                }
                Some('`') => break,
                Some(_) => {}
            }
        }
        self.emit(Tok::RawString);
        true
    }
}

/// `- ` followed by... : a left trim marker is a minus and a space.
fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

/// A right trim marker is a space and a minus.
fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(Tok, String)> {
        lex(s)
            .into_iter()
            .map(|t| (t.tok, t.text.to_string()))
            .collect()
    }

    #[test]
    fn text_and_actions() {
        assert_eq!(
            kinds("a {{ .x }} b"),
            vec![
                (Tok::Text, "a ".into()),
                (Tok::LeftDelim, "{{".into()),
                (Tok::Space, " ".into()),
                (Tok::Field, ".x".into()),
                (Tok::Space, " ".into()),
                (Tok::RightDelim, "}}".into()),
                (Tok::Text, " b".into()),
                (Tok::Eof, "".into()),
            ]
        );
    }

    #[test]
    fn trim_markers() {
        let k = kinds("a  {{- 3 -}}  b");
        assert_eq!(k[0], (Tok::Text, "a".into()));
        assert_eq!(k[2], (Tok::Number, "3".into()));
        assert_eq!(k[4], (Tok::Text, "b".into()));
        // Without the space the minus belongs to the number.
        assert_eq!(kinds("{{-3}}")[1], (Tok::Number, "-3".into()));
    }

    #[test]
    fn comments() {
        assert_eq!(
            kinds("a {{- /* c */ -}} b"),
            vec![
                (Tok::Text, "a".into()),
                (Tok::Text, "b".into()),
                (Tok::Eof, "".into())
            ]
        );
        assert_eq!(
            kinds("{{/* c */ x}}").last().unwrap().1,
            "comment ends before closing delimiter"
        );
        assert_eq!(kinds("{{/* c ").last().unwrap().1, "unclosed comment");
    }

    #[test]
    fn errors() {
        assert_eq!(kinds("{{ .x ").last().unwrap().1, "unclosed action");
        assert_eq!(
            kinds("{{ \"x }}").last().unwrap().1,
            "unterminated quoted string"
        );
        assert_eq!(
            kinds("{{ 3k }}").last().unwrap().1,
            "bad number syntax: \"3k\""
        );
        assert_eq!(
            kinds("{{ a# }}").last().unwrap().1,
            "bad character U+0023 '#'"
        );
        assert_eq!(kinds("{{ ) }}").last().unwrap().1, "unexpected right paren");
        assert_eq!(kinds("{{ ( }}").last().unwrap().1, "unclosed left paren");
    }
}
