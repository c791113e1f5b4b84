//! Diagnostics of every configuration file (site, board, camera, console): one error type naming the
//! file, the line, the field, what is wrong and how to fix it, and one rule for the line.
//!
//! The line rule: a byte offset is on line 1 + the number of newlines before it, so a span that
//! starts at the beginning of a line (offset 0, or just after a `\n`) is on that line. A value the
//! file does not state (a serde default) carries [`NO_SPAN`], which is on no line (line 0); an empty
//! span at offset 0 is a real position (line 1), not "no span".

use core::ops::Range;
use toml::Spanned;

/// The span of a value that is not in the file (a default): beyond any text, so on no line.
pub const NO_SPAN: Range<usize> = usize::MAX..usize::MAX;

/// A default value for a `#[serde(default = …)]` field: spanned with [`NO_SPAN`].
pub fn unspanned<T>(v: T) -> Spanned<T> {
    Spanned::new(NO_SPAN, v)
}

/// 1-based line of the byte `offset` in `text`; 0 for an offset beyond the text ([`NO_SPAN`]).
pub fn line_of(text: &str, offset: usize) -> usize {
    match text.as_bytes().get(..offset) {
        Some(before) => before.iter().filter(|&&b| b == b'\n').count() + 1,
        None => 0,
    }
}

/// A configuration error with where it is and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based line; 0 when the error is not tied to a line.
    pub line: usize,
    pub field: String,
    pub message: String,
    pub fix: String,
}

impl ConfigError {
    /// An error about the file as a whole (it cannot be read, a cross-file check) or about a value
    /// that is on no line.
    pub fn whole(
        file: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: file.into(),
            line: 0,
            field: field.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, " line {}", self.line)?;
        }
        if !self.field.is_empty() {
            write!(f, ": `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)?;
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// The text of one configuration file and its name, to turn spans into [`ConfigError`]s.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub text: &'a str,
    pub file: &'a str,
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str, file: &'a str) -> Source<'a> {
        Source { text, file }
    }

    /// Line of the start of `span` ([`line_of`]).
    pub fn line(&self, span: Range<usize>) -> usize {
        line_of(self.text, span.start)
    }

    pub fn err(
        &self,
        span: Range<usize>,
        field: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            file: self.file.into(),
            line: self.line(span),
            field: field.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// A TOML syntax or shape error (missing field, unknown field, wrong type) with the fix for
    /// this kind of file; the field is the first name the parser's message quotes.
    pub fn toml(&self, e: &toml::de::Error, example: &str) -> ConfigError {
        let msg = e.message().trim().to_string();
        let field = msg.split('`').nth(1).unwrap_or("").to_string();
        let fix = if msg.contains("missing field") {
            format!("add the field (see {example} for a complete example)")
        } else if msg.contains("unknown field") {
            "remove or correct the field name; the accepted names are listed in the message".to_string()
        } else {
            format!("correct the value's type or the TOML syntax (see {example})")
        };
        ConfigError {
            file: self.file.into(),
            line: e.span().map_or(0, |s| self.line(s)),
            field,
            message: msg,
            fix,
        }
    }
}

/// The error for a file that could not be read.
pub fn unreadable(file: &str, what: &str, e: impl core::fmt::Display, fix: &str) -> ConfigError {
    ConfigError::whole(file, "", format!("cannot read the {what}: {e}"), fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_that_starts_a_line_is_on_that_line() {
        let text = "[a]\nx = 1\n\ny = 2\n";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, 4), 2);
        assert_eq!(line_of(text, 10), 3);
        assert_eq!(line_of(text, 11), 4);
        // The last character of a line (its newline) is still on it.
        assert_eq!(line_of(text, 9), 2);
        // An empty span at offset 0 is a position in the file, not a default.
        assert_eq!(Source::new(text, "f.toml").line(0..0), 1);
        assert_eq!(Source::new(text, "f.toml").line(NO_SPAN), 0);
    }

    #[test]
    fn display_names_file_line_field_and_fix() {
        let e = Source::new("a = 1\nb = 2\n", "f.toml").err(6..7, "b", "too big", "use 1");
        assert_eq!(e.to_string(), "f.toml line 2: `b`: too big (fix: use 1)");
        let e = ConfigError::whole("f.toml", "", "cannot read", "check the path");
        assert_eq!(e.to_string(), "f.toml: cannot read (fix: check the path)");
    }
}
