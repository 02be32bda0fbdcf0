//! Reader for RFC 1035 master files ("zone files").
//!
//! This is the text layer of the zone pipeline: it turns the text of one master file into
//! [`SourceRecord`]s, each remembering the line its entry started on, so that the zone
//! compiler can report its own findings as `file:line: message`. Syntax problems come back as
//! [`MasterError`]s, all of them (up to a cap), not just the first.
//!
//! It reads syntax only. Zone rules (one SOA at the apex, CNAME standing alone, owners inside
//! the zone, ...) are the compiler's business.
//!
//! # Supported syntax (RFC 1035 §5.1 unless noted)
//!
//! * Entries are lines; `(` … `)` continue an entry over several lines; `;` starts a comment
//!   that runs to the end of the line (not inside `"…"`).
//! * `"…"` quoted strings with `\X` and `\DDD` (decimal) escapes. A quoted string must close on
//!   its own line unless the line break is escaped with `\`, as in BIND, so that one missing
//!   quote cannot swallow the rest of the file. A quoted part inside a bare token
//!   (`alpn="h2,h3"`, RFC 9460 Appendix A) belongs to that token.
//! * Owner names: absolute with a trailing dot, otherwise relative to the current origin; `@`
//!   is the origin; an entry that starts with a blank belongs to the previous owner. Labels
//!   take `\.`-style and `\DDD` escapes and keep their case; a label with non-ASCII characters
//!   is converted to its IDNA (punycode) form.
//! * `$ORIGIN <name>` (a relative name is taken relative to the current origin, as BIND does),
//!   `$TTL <ttl>` (RFC 2308 §4). `$INCLUDE` is rejected: zones are single, self-contained files.
//! * `[<TTL>] [<class>] <type>` in either order. TTLs are decimal seconds or BIND-style units
//!   (`1h30m`, `2d`, `1w`) up to 2^31-1 (RFC 2181 §8). A record without a TTL takes the `$TTL`
//!   value, else the last TTL written out in the file, else it is an error.
//!   The class may be `IN` or `CLASS1` (RFC 3597 §5); other classes are rejected.
//! * Types by mnemonic (any case) or as `TYPEnnn` (RFC 3597 §5). RDATA may be given in the
//!   generic form `\# <length> <hex>` (RFC 3597 §5) for any type.
//! * RDATA in presentation form for A, AAAA, NS, CNAME, PTR, ANAME, MX, SRV, SOA (its timers
//!   also with units), TXT and NAPTR are built here, so relative names and `@` work in every
//!   name field; SVCB and HTTPS get their target name here and their parameters from
//!   hickory-proto; CAA, CERT, CSYNC, HINFO, OPENPGPKEY, SMIMEA, SSHFP and TLSA are handed to
//!   hickory-proto's presentation-format parsers; DS (RFC 4034 §5.3) is read here.
//!
//! # Not supported
//!
//! `$INCLUDE`, `$GENERATE` and other directives; classes other than IN; DNAME (hickory-proto
//! has no DNAME data, and serving it opaquely would skip the RFC 6672 substitution); meta
//! types (ANY, AXFR, IXFR, OPT, TSIG, TYPE0); the presentation form of other types (DNSSEC
//! types other than DS, NULL, unknown types), which can still be written in the generic `\#` form.

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use hickory_proto::rr::rdata::{A, AAAA, ANAME, CNAME, HTTPS, MX, NAPTR, NS, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Label, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, Restrict};
use hickory_proto::serialize::txt::parse_ttl;

/// After this many errors the reader stops (and adds [`MasterErrorKind::TooManyErrors`]).
const MAX_ERRORS: usize = 100;

/// Largest TTL: RFC 2181 §8 limits TTLs to 0 ..= 2^31 - 1.
const MAX_TTL: u32 = 0x7FFF_FFFF;

/// RFC 1035 §3.3: a `<character-string>` holds at most 255 octets.
const MAX_CHARACTER_STRING: usize = 255;

/// One resource record read from a master file, with the line its entry started on (1-based).
#[derive(Debug, Clone)]
pub struct SourceRecord {
    /// The 1-based line where the record's entry starts (its first token).
    pub line: usize,
    /// The record: absolute owner name, class IN, TTL and data.
    pub record: Record,
}

/// A problem in a master file, at a line (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterError {
    /// The 1-based line of the problem.
    pub line: usize,
    /// What is wrong.
    pub kind: MasterErrorKind,
}

/// What went wrong in a master file. `Display` gives a one-line message without the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterErrorKind {
    /// A `)` without an open `(`, or a `(` still open at the end of the file (reported at the
    /// line of that `(`).
    UnbalancedParentheses,
    /// A `"` quoted string that does not close on its line.
    UnterminatedQuote,
    /// A `$` control entry that is unknown or malformed; the text says what is wrong.
    BadDirective(String),
    /// `$INCLUDE` is not supported: a zone is one self-contained file.
    Include,
    /// A domain name that is not a valid DNS name (empty label, label over 63 or name over
    /// 255 octets, bad escape, invalid IDNA label); holds the name as written.
    BadName(String),
    /// A relative domain name (or `@`) where no origin is known.
    MissingOrigin,
    /// A TTL that is not a number of seconds or `1h30m`-style units, or exceeds 2^31-1;
    /// holds the TTL as written.
    BadTtl(String),
    /// A record without a TTL, and neither `$TTL` nor an earlier TTL to take it from.
    MissingTtl,
    /// An entry that starts with a blank (so belongs to the previous owner) but has none.
    MissingOwner,
    /// An entry that ends before its record type.
    MissingType,
    /// A record type mnemonic that is not known; holds it as written.
    UnknownType(String),
    /// A known record type this reader refuses (DNAME, meta types); holds its mnemonic.
    UnsupportedType(String),
    /// A class other than IN; holds it as written.
    UnsupportedClass(String),
    /// Record data that does not fit its type.
    BadRdata {
        /// The record type's mnemonic.
        rtype: String,
        /// What is wrong with the data.
        reason: String,
    },
    /// The reader gave up after too many errors.
    TooManyErrors,
}

impl fmt::Display for MasterErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnbalancedParentheses => write!(f, "unbalanced parentheses"),
            Self::UnterminatedQuote => write!(f, "quoted string not closed on its line"),
            Self::BadDirective(what) => write!(f, "bad directive: {what}"),
            Self::Include => write!(f, "$INCLUDE is not supported: a zone must be one file"),
            Self::BadName(name) => write!(f, "bad domain name {name:?}"),
            Self::MissingOrigin => {
                write!(f, "relative domain name but no origin is known (add $ORIGIN)")
            }
            Self::BadTtl(ttl) => write!(f, "bad TTL {ttl:?}"),
            Self::MissingTtl => write!(f, "record has no TTL, and there is no $TTL or earlier TTL"),
            Self::MissingOwner => {
                write!(f, "entry starts with a blank but there is no previous owner name")
            }
            Self::MissingType => write!(f, "missing record type"),
            Self::UnknownType(rtype) => write!(f, "unknown record type {rtype:?}"),
            Self::UnsupportedType(rtype) => write!(f, "record type {rtype} is not supported"),
            Self::UnsupportedClass(class) => {
                write!(f, "unsupported class {class:?}: only IN is served")
            }
            Self::BadRdata { rtype, reason } => write!(f, "bad {rtype} record data: {reason}"),
            Self::TooManyErrors => write!(f, "too many errors, stopped reading"),
        }
    }
}

impl fmt::Display for MasterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

impl std::error::Error for MasterError {}

impl MasterError {
    fn new(line: usize, kind: MasterErrorKind) -> Self {
        Self { line, kind }
    }
}

/// Reads a whole master file. `origin` is the initial `$ORIGIN` (e.g. from the file name), may
/// be `None`.
///
/// Returns every record in file order, each with the line its entry starts on.
///
/// # Errors
///
/// Every problem found, in file order: after an error the reader goes on at the next entry, and
/// stops after a hundred errors (then the last one is [`MasterErrorKind::TooManyErrors`]).
pub fn parse(text: &str, origin: Option<&Name>) -> Result<Vec<SourceRecord>, Vec<MasterError>> {
    let (records, errors) = read(text, origin, Some(MAX_ERRORS));
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(errors)
    }
}

/// Reads a whole master file as far as it can (for importing a file written elsewhere):
/// the records of every entry that reads, and the errors of the entries that do not (each
/// skipped entry still names its owner for the entries after it), in file order, without
/// the cap of [`parse`].
pub fn parse_partial(text: &str, origin: Option<&Name>) -> (Vec<SourceRecord>, Vec<MasterError>) {
    read(text, origin, None)
}

/// Reads entries; with a cap, records are kept only while there are no errors, and reading
/// stops after `cap` errors.
fn read(text: &str, origin: Option<&Name>, cap: Option<usize>) -> (Vec<SourceRecord>, Vec<MasterError>) {
    let mut lexer = Lexer::new(text);
    let mut reader = Reader::new(origin);
    let mut records = Vec::new();
    let mut errors = Vec::new();
    while let Some((entry, lex_error)) = lexer.next_entry() {
        let outcome = match lex_error {
            Some(error) => {
                reader.forget_owner_of(&entry);
                Err(error)
            }
            None => reader.read_entry(&entry),
        };
        match outcome {
            Ok(Some(record)) => {
                if cap.is_none() || errors.is_empty() {
                    records.push(record);
                }
            }
            Ok(None) => {}
            Err(error) => {
                let line = error.line;
                errors.push(error);
                if cap.is_some_and(|cap| errors.len() >= cap) {
                    errors.push(MasterError::new(line, MasterErrorKind::TooManyErrors));
                    break;
                }
            }
        }
    }
    (records, errors)
}

// ---------------------------------------------------------------------------------------------
// Lexer: text -> entries of tokens, with line numbers.
// ---------------------------------------------------------------------------------------------

/// One item of an entry: a bare word or the inside of a `"…"` string, escapes still raw.
#[derive(Debug)]
struct Token<'a> {
    /// The text; for a quoted token without its quotes.
    text: &'a str,
    /// Whether the whole token was a `"…"` string.
    quoted: bool,
    /// The line it starts on.
    line: usize,
}

/// One entry (RFC 1035 §5.1): a line, or several joined by parentheses.
#[derive(Debug)]
struct Entry<'a> {
    /// The line of the first token.
    line: usize,
    /// Whether the entry's first line starts with a blank (so no owner name is given).
    starts_with_blank: bool,
    /// The tokens (empty only in an entry whose lexing failed).
    tokens: Vec<Token<'a>>,
}

/// Splits master-file text into entries. Works on bytes: every byte it stops at is ASCII, so
/// each slice boundary is a char boundary even in non-ASCII text.
struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        let pos = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
        Self { text, pos, line: 1 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Moves past one byte, counting lines.
    fn bump(&mut self) {
        if let Some(byte) = self.peek() {
            self.pos += 1;
            if byte == b'\n' {
                self.line += 1;
            }
        }
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        self.text.get(start..end).unwrap_or_default()
    }

    /// The next entry that has tokens, with the first syntax error inside it (if any; then the
    /// entry is incomplete and must not be used as a record). `None` at the end of the text.
    fn next_entry(&mut self) -> Option<(Entry<'a>, Option<MasterError>)> {
        loop {
            self.peek()?;
            let starts_with_blank = matches!(self.peek(), Some(b' ' | b'\t'));
            let mut tokens = Vec::new();
            let mut depth = 0_usize;
            let mut open_line = self.line;
            let mut error = None;
            loop {
                match self.peek() {
                    None => {
                        if depth > 0 {
                            let unclosed = MasterError::new(open_line, MasterErrorKind::UnbalancedParentheses);
                            error.get_or_insert(unclosed);
                        }
                        break;
                    }
                    Some(b'\n') => {
                        self.bump();
                        if depth == 0 {
                            break;
                        }
                    }
                    Some(b' ' | b'\t' | b'\r') => self.bump(),
                    Some(b';') => self.skip_comment(),
                    Some(b'(') => {
                        if depth == 0 {
                            open_line = self.line;
                        }
                        depth += 1;
                        self.bump();
                    }
                    Some(b')') => {
                        if depth == 0 {
                            let stray = MasterError::new(self.line, MasterErrorKind::UnbalancedParentheses);
                            error.get_or_insert(stray);
                        } else {
                            depth -= 1;
                        }
                        self.bump();
                    }
                    Some(b'"') => match self.quoted_token() {
                        Ok(token) => tokens.push(token),
                        Err(e) => {
                            error.get_or_insert(e);
                        }
                    },
                    Some(_) => match self.bare_token() {
                        Ok(token) => tokens.push(token),
                        Err(e) => {
                            error.get_or_insert(e);
                        }
                    },
                }
            }
            let line = tokens.first().map_or(open_line, |token| token.line);
            if !tokens.is_empty() || error.is_some() {
                return Some((Entry { line, starts_with_blank, tokens }, error));
            }
        }
    }

    /// Skips a `;` comment up to (not including) the line break.
    fn skip_comment(&mut self) {
        while self.peek().is_some_and(|byte| byte != b'\n') {
            self.bump();
        }
    }

    /// Moves past the rest of a `"…"` string whose opening quote is already consumed, up to and
    /// including the closing quote. Stops before an unescaped line break or at the end of the
    /// text: then the quote is unclosed. (RFC 1035 §5.1 lets text literals span lines, but BIND
    /// does not, and this way a forgotten quote costs one entry rather than the whole file.)
    fn skip_quoted(&mut self, opened_on: usize) -> Result<(), MasterError> {
        loop {
            match self.peek() {
                None | Some(b'\n') => {
                    return Err(MasterError::new(opened_on, MasterErrorKind::UnterminatedQuote));
                }
                Some(b'"') => {
                    self.bump();
                    return Ok(());
                }
                Some(b'\\') => {
                    self.bump();
                    self.bump();
                }
                Some(_) => self.bump(),
            }
        }
    }

    /// A `"…"` token (RFC 1035 §5.1 `<character-string>`).
    fn quoted_token(&mut self) -> Result<Token<'a>, MasterError> {
        let line = self.line;
        self.bump();
        let start = self.pos;
        self.skip_quoted(line)?;
        let end = self.pos.saturating_sub(1);
        Ok(Token { text: self.slice(start, end), quoted: true, line })
    }

    /// A bare token: up to a blank, line break, `;` or parenthesis. `\X` escapes any byte; a
    /// `"…"` part inside it is kept in the token (RFC 9460 Appendix A `key="value"`).
    fn bare_token(&mut self) -> Result<Token<'a>, MasterError> {
        let line = self.line;
        let start = self.pos;
        loop {
            match self.peek() {
                None | Some(b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')') => break,
                Some(b'\\') => {
                    self.bump();
                    self.bump();
                }
                Some(b'"') => {
                    let quote_line = self.line;
                    self.bump();
                    self.skip_quoted(quote_line)?;
                }
                Some(_) => self.bump(),
            }
        }
        Ok(Token { text: self.slice(start, self.pos), quoted: false, line })
    }
}

// ---------------------------------------------------------------------------------------------
// Reader: entries -> records, keeping the origin, TTL and owner state between entries.
// ---------------------------------------------------------------------------------------------

/// The owner that an entry starting with a blank belongs to.
enum LastOwner {
    /// No owner yet.
    Nothing,
    /// The owner of the previous entry.
    Known(Name),
    /// The previous owner was bad (already reported): skip its continuation entries quietly.
    Invalid,
}

/// The state carried from entry to entry.
struct Reader {
    origin: Option<Name>,
    /// `$TTL` (RFC 2308 §4).
    default_ttl: Option<u32>,
    /// The last TTL written out on a record (RFC 1035 §5.1 default).
    last_ttl: Option<u32>,
    owner: LastOwner,
}

impl Reader {
    fn new(origin: Option<&Name>) -> Self {
        let origin = origin.map(|name| {
            let mut name = name.clone();
            name.set_fqdn(true);
            name
        });
        Self { origin, default_ttl: None, last_ttl: None, owner: LastOwner::Nothing }
    }

    /// After a syntax error in an entry that names its owner, its continuation lines must not
    /// silently go to the owner before it.
    fn forget_owner_of(&mut self, entry: &Entry<'_>) {
        let is_directive = entry.tokens.first().is_some_and(is_directive);
        if !entry.starts_with_blank && !is_directive {
            self.owner = LastOwner::Invalid;
        }
    }

    /// Reads one entry: a directive (`Ok(None)`) or a record.
    fn read_entry(&mut self, entry: &Entry<'_>) -> Result<Option<SourceRecord>, MasterError> {
        let mut tokens = entry.tokens.iter();
        let Some(first) = entry.tokens.first() else {
            return Ok(None);
        };
        if is_directive(first) {
            tokens.next();
            self.directive(first, tokens.as_slice())?;
            return Ok(None);
        }

        // RFC 1035 §5.1: an entry starting with a blank belongs to the last stated owner.
        let owner = if entry.starts_with_blank {
            match &self.owner {
                LastOwner::Known(name) => name.clone(),
                LastOwner::Invalid => return Ok(None),
                LastOwner::Nothing => {
                    self.owner = LastOwner::Invalid;
                    return Err(MasterError::new(entry.line, MasterErrorKind::MissingOwner));
                }
            }
        } else {
            tokens.next();
            match self.name(first) {
                Ok(name) => {
                    self.owner = LastOwner::Known(name.clone());
                    name
                }
                Err(error) => {
                    self.owner = LastOwner::Invalid;
                    return Err(error);
                }
            }
        };

        // RFC 1035 §5.1: [<TTL>] [<class>] <type> or [<class>] [<TTL>] <type>.
        let mut ttl = None;
        let mut last_line = entry.line;
        let type_token = loop {
            let Some(token) = tokens.next() else {
                return Err(MasterError::new(last_line, MasterErrorKind::MissingType));
            };
            last_line = token.line;
            if token.quoted {
                break token;
            }
            if token.text.as_bytes().first().is_some_and(u8::is_ascii_digit) {
                if ttl.is_some() {
                    let kind = MasterErrorKind::BadTtl(token.text.to_owned());
                    return Err(MasterError::new(token.line, kind));
                }
                ttl = Some(ttl_value(token)?);
            } else if let Some(is_in) = class_is_in(token.text) {
                if !is_in {
                    let kind = MasterErrorKind::UnsupportedClass(token.text.to_owned());
                    return Err(MasterError::new(token.line, kind));
                }
            } else {
                break token;
            }
        };

        let rtype = record_type(type_token)?;
        if let Some(explicit) = ttl {
            self.last_ttl = Some(explicit);
        }
        let ttl = ttl.or(self.default_ttl).or(self.last_ttl).ok_or_else(|| MasterError::new(entry.line, MasterErrorKind::MissingTtl))?;

        let rdata = read_rdata(rtype, tokens.as_slice(), type_token.line, self.origin.as_ref())?;
        Ok(Some(SourceRecord { line: entry.line, record: Record::from_rdata(owner, ttl, rdata) }))
    }

    /// `$ORIGIN`, `$TTL`, `$INCLUDE` (RFC 1035 §5.1, RFC 2308 §4).
    fn directive(&mut self, keyword: &Token<'_>, args: &[Token<'_>]) -> Result<(), MasterError> {
        let bad = |what: String| MasterError::new(keyword.line, MasterErrorKind::BadDirective(what));
        if keyword.text.eq_ignore_ascii_case("$ORIGIN") {
            let [name] = args else {
                return Err(bad("$ORIGIN takes exactly one domain name".to_owned()));
            };
            // A relative $ORIGIN is relative to the current origin (BIND behaviour).
            self.origin = Some(self.name(name)?);
            Ok(())
        } else if keyword.text.eq_ignore_ascii_case("$TTL") {
            let [ttl] = args else {
                return Err(bad("$TTL takes exactly one TTL".to_owned()));
            };
            self.default_ttl = Some(ttl_value(ttl)?);
            Ok(())
        } else if keyword.text.eq_ignore_ascii_case("$INCLUDE") {
            Err(MasterError::new(keyword.line, MasterErrorKind::Include))
        } else {
            Err(bad(format!("unknown or unsupported directive {:?}", keyword.text)))
        }
    }

    /// An owner or `$ORIGIN` name.
    fn name(&self, token: &Token<'_>) -> Result<Name, MasterError> {
        parse_name(token.text, self.origin.as_ref()).map_err(|error| {
            let kind = match error {
                NameError::MissingOrigin => MasterErrorKind::MissingOrigin,
                NameError::Malformed => MasterErrorKind::BadName(token.text.to_owned()),
            };
            MasterError::new(token.line, kind)
        })
    }
}

/// A bare token starting with `$` in the first position is a control entry.
fn is_directive(token: &Token<'_>) -> bool {
    !token.quoted && token.text.starts_with('$')
}

/// A TTL field: seconds or BIND units (`1h30m`), at most 2^31-1 (RFC 2181 §8).
fn ttl_value(token: &Token<'_>) -> Result<u32, MasterError> {
    parse_ttl(token.text).ok().filter(|ttl| *ttl <= MAX_TTL).ok_or_else(|| MasterError::new(token.line, MasterErrorKind::BadTtl(token.text.to_owned())))
}

/// `Some(true)` for IN, `Some(false)` for another class (RFC 1035 §3.2.4 mnemonics, RFC 3597
/// §5 `CLASSnnn`), `None` if the word is no class.
fn class_is_in(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("IN") {
        return Some(true);
    }
    if ["CH", "CS", "HS"].iter().any(|class| text.eq_ignore_ascii_case(class)) {
        return Some(false);
    }
    let prefix = text.get(..5)?;
    if !prefix.eq_ignore_ascii_case("CLASS") {
        return None;
    }
    decimal::<u16>(text.get(5..)?).map(|class| class == 1)
}

/// A record type: a mnemonic in any case, or `TYPEnnn` (RFC 3597 §5).
fn record_type(token: &Token<'_>) -> Result<RecordType, MasterError> {
    let upper = token.text.to_ascii_uppercase();
    let rtype = match upper.strip_prefix("TYPE") {
        _ if token.quoted => None,
        Some(number) => decimal::<u16>(number).map(RecordType::from),
        None => RecordType::from_str(&upper).ok(),
    };
    let rtype = rtype.ok_or_else(|| MasterError::new(token.line, MasterErrorKind::UnknownType(token.text.to_owned())))?;
    // Meta types (RFC 6895 §3.1) cannot be stored; DNAME needs RFC 6672 processing that
    // hickory-proto's data model does not carry; type 0 is reserved.
    let refused = matches!(rtype, RecordType::ANY | RecordType::AXFR | RecordType::IXFR | RecordType::OPT | RecordType::TSIG | RecordType::DNAME)
        || u16::from(rtype) == 0;
    if refused {
        return Err(MasterError::new(token.line, MasterErrorKind::UnsupportedType(mnemonic(rtype))));
    }
    Ok(rtype)
}

/// The type's mnemonic, or `TYPEnnn` for types without one (RFC 3597 §5).
fn mnemonic(rtype: RecordType) -> String {
    match rtype {
        RecordType::Unknown(code) => format!("TYPE{code}"),
        known => known.to_string(),
    }
}

/// A plain decimal number: digits only (no sign, no blanks), in range.
fn decimal<T: FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Domain names and character strings.
// ---------------------------------------------------------------------------------------------

/// Why a domain name could not be read.
enum NameError {
    /// Relative name or `@` without an origin.
    MissingOrigin,
    /// Not a valid name.
    Malformed,
}

/// A domain name in master-file syntax (RFC 1035 §5.1): `@`, `.`, or dot-separated labels,
/// absolute when it ends in an unescaped dot, otherwise relative to `origin`.
fn parse_name(text: &str, origin: Option<&Name>) -> Result<Name, NameError> {
    match text {
        "@" => return origin.cloned().ok_or(NameError::MissingOrigin),
        "." => return Ok(Name::root()),
        "" => return Err(NameError::Malformed),
        _ => {}
    }
    let mut name = Name::new();
    let mut label = Vec::new();
    let mut has_raw_non_ascii = false;
    let mut ends_with_dot = false;
    let mut bytes = text.bytes();
    while let Some(byte) = bytes.next() {
        ends_with_dot = byte == b'.';
        match byte {
            b'.' => {
                name = append_label(name, &label, has_raw_non_ascii)?;
                label.clear();
                has_raw_non_ascii = false;
            }
            b'\\' => {
                let (octet, from_digits) = unescape(&mut bytes).ok_or(NameError::Malformed)?;
                has_raw_non_ascii |= !from_digits && !octet.is_ascii();
                label.push(octet);
            }
            _ => {
                has_raw_non_ascii |= !byte.is_ascii();
                label.push(byte);
            }
        }
    }
    if ends_with_dot {
        name.set_fqdn(true);
        return Ok(name);
    }
    name = append_label(name, &label, has_raw_non_ascii)?;
    let origin = origin.ok_or(NameError::MissingOrigin)?;
    name.append_domain(origin).map_err(|_| NameError::Malformed)
}

/// Appends one label: its octets as written (case kept), or, if it holds non-ASCII characters,
/// their IDNA form (UTS #46, as hickory-proto does for names).
fn append_label(name: Name, octets: &[u8], has_raw_non_ascii: bool) -> Result<Name, NameError> {
    let label = if has_raw_non_ascii {
        let text = std::str::from_utf8(octets).map_err(|_| NameError::Malformed)?;
        Label::from_utf8(text)
    } else {
        Label::from_raw_bytes(octets)
    };
    let label = label.map_err(|_| NameError::Malformed)?;
    name.append_label(label).map_err(|_| NameError::Malformed)
}

/// Reads the rest of an escape after its `\` (RFC 1035 §5.1): `\DDD` is the octet with that
/// decimal value, `\X` is X itself. Returns the octet and whether it came from digits.
fn unescape(bytes: &mut impl Iterator<Item = u8>) -> Option<(u8, bool)> {
    let first = bytes.next()?;
    if !first.is_ascii_digit() {
        return Some((first, false));
    }
    let second = bytes.next().filter(u8::is_ascii_digit)?;
    let third = bytes.next().filter(u8::is_ascii_digit)?;
    let value = u16::from(first - b'0') * 100 + u16::from(second - b'0') * 10 + u16::from(third - b'0');
    u8::try_from(value).ok().map(|octet| (octet, true))
}

/// The octets of a token with its escapes decoded; in a bare token the quote marks of a
/// quoted part are dropped. `None` for a bad escape.
fn token_octets(token: &Token<'_>) -> Option<Vec<u8>> {
    let mut octets = Vec::with_capacity(token.text.len());
    let mut bytes = token.text.bytes();
    while let Some(byte) = bytes.next() {
        match byte {
            b'\\' => octets.push(unescape(&mut bytes)?.0),
            b'"' if !token.quoted => {}
            _ => octets.push(byte),
        }
    }
    Some(octets)
}

// ---------------------------------------------------------------------------------------------
// RDATA.
// ---------------------------------------------------------------------------------------------

/// Reads the RDATA tokens of one record.
fn read_rdata(rtype: RecordType, tokens: &[Token<'_>], type_line: usize, origin: Option<&Name>) -> Result<RData, MasterError> {
    let mut fields = Fields { rtype, tokens: tokens.iter(), line: type_line, origin };
    // RFC 3597 §5: `\#` introduces the generic encoding, for any type.
    if tokens.first().is_some_and(|token| !token.quoted && token.text == "\\#") {
        return fields.generic();
    }
    let rdata = match rtype {
        RecordType::A => RData::A(A(fields.parse::<Ipv4Addr>("IPv4 address")?)),
        RecordType::AAAA => RData::AAAA(AAAA(fields.parse::<Ipv6Addr>("IPv6 address")?)),
        RecordType::NS => RData::NS(NS(fields.name("name server")?)),
        RecordType::CNAME => RData::CNAME(CNAME(fields.name("canonical name")?)),
        RecordType::PTR => RData::PTR(PTR(fields.name("pointer target")?)),
        RecordType::ANAME => RData::ANAME(ANAME(fields.name("alias target")?)),
        // RFC 1035 §3.3.9
        RecordType::MX => {
            let preference = fields.number("preference")?;
            RData::MX(MX::new(preference, fields.name("exchange")?))
        }
        // RFC 2782
        RecordType::SRV => {
            let priority = fields.number("priority")?;
            let weight = fields.number("weight")?;
            let port = fields.number("port")?;
            RData::SRV(SRV::new(priority, weight, port, fields.name("target")?))
        }
        // RFC 1035 §3.3.13; timers also with BIND units.
        RecordType::SOA => {
            let mname = fields.name("primary name server (MNAME)")?;
            let rname = fields.name("mailbox (RNAME)")?;
            let serial = fields.number("serial")?;
            let refresh = fields.interval("refresh")?;
            let retry = fields.interval("retry")?;
            let expire = fields.interval("expire")?;
            let minimum = fields.interval("minimum")?;
            // Each is at most 2^31-1, so it fits hickory-proto's i32 fields.
            let signed = |seconds: u32| i32::try_from(seconds).unwrap_or(i32::MAX);
            RData::SOA(SOA::new(mname, rname, serial, signed(refresh), signed(retry), signed(expire), minimum))
        }
        // RFC 1035 §3.3.14: one or more <character-string>s.
        RecordType::TXT => {
            let mut strings = Vec::new();
            while let Some(string) = fields.next_character_string()? {
                strings.push(string);
            }
            if strings.is_empty() {
                return Err(fields.error(type_line, "missing text"));
            }
            RData::TXT(TXT::from_bytes(strings.iter().map(Vec::as_slice).collect()))
        }
        // RFC 3403 §4.1
        RecordType::NAPTR => {
            let order = fields.number("order")?;
            let preference = fields.number("preference")?;
            let flags = fields.character_string("flags")?;
            if !flags.iter().all(u8::is_ascii_alphanumeric) {
                return Err(fields.error(fields.line, "flags must be letters and digits"));
            }
            let services = fields.character_string("services")?;
            let regexp = fields.character_string("regexp")?;
            let replacement = fields.name("replacement")?;
            let naptr = NAPTR::new(order, preference, flags.into_boxed_slice(), services.into_boxed_slice(), regexp.into_boxed_slice(), replacement);
            RData::NAPTR(naptr)
        }
        // RFC 9460 §2.1: the parameters go to hickory-proto, the target name is read here.
        RecordType::SVCB | RecordType::HTTPS => fields.service_binding()?,
        RecordType::CAA | RecordType::CSYNC | RecordType::HINFO => fields.by_hickory(Vec::new(), None)?,
        // Hex or base64 blobs after some fixed fields may be split by blanks, as in BIND
        // (RFC 4398 §2.2 says so for CERT, RFC 6698 §2.2 for TLSA); hickory-proto's parsers
        // for SSHFP, CERT and OPENPGPKEY read one token only, so the pieces are joined here.
        RecordType::SSHFP => fields.by_hickory(Vec::new(), Some(2))?,
        RecordType::CERT | RecordType::TLSA | RecordType::SMIMEA => fields.by_hickory(Vec::new(), Some(3))?,
        RecordType::OPENPGPKEY => fields.by_hickory(Vec::new(), Some(0))?,
        RecordType::DS => fields.delegation_signer()?,
        _ => {
            let reason = "no presentation format known for this type; \
                          use the generic form \\# <length> <hex> (RFC 3597)";
            return Err(fields.error(type_line, reason));
        }
    };
    fields.end()?;
    Ok(rdata)
}

/// A cursor over the RDATA tokens of one record.
struct Fields<'r, 'a> {
    rtype: RecordType,
    tokens: std::slice::Iter<'r, Token<'a>>,
    /// The line of the last token taken (for errors about missing fields).
    line: usize,
    origin: Option<&'r Name>,
}

impl<'r, 'a> Fields<'r, 'a> {
    fn error(&self, line: usize, reason: impl Into<String>) -> MasterError {
        let kind = MasterErrorKind::BadRdata { rtype: mnemonic(self.rtype), reason: reason.into() };
        MasterError::new(line, kind)
    }

    fn take(&mut self) -> Option<&'r Token<'a>> {
        let token = self.tokens.next()?;
        self.line = token.line;
        Some(token)
    }

    fn next(&mut self, what: &str) -> Result<&'r Token<'a>, MasterError> {
        self.take().ok_or_else(|| self.error(self.line, format!("missing {what}")))
    }

    /// Fails if tokens are left over.
    fn end(&mut self) -> Result<(), MasterError> {
        match self.tokens.next() {
            Some(extra) => Err(self.error(extra.line, format!("unexpected {:?} after the data", extra.text))),
            None => Ok(()),
        }
    }

    fn parse<T: FromStr>(&mut self, what: &str) -> Result<T, MasterError> {
        let token = self.next(what)?;
        token.text.parse().map_err(|_| self.error(token.line, format!("bad {what} {:?}", token.text)))
    }

    fn number<T: FromStr>(&mut self, what: &str) -> Result<T, MasterError> {
        let token = self.next(what)?;
        decimal(token.text).ok_or_else(|| self.error(token.line, format!("bad {what} {:?}", token.text)))
    }

    /// A time interval (SOA timers, RFC 1035 §3.3.13): seconds or BIND units, at most 2^31-1
    /// like a TTL (RFC 2181 §8; RFC 2308 §4 makes MINIMUM the negative-caching TTL).
    fn interval(&mut self, what: &str) -> Result<u32, MasterError> {
        let token = self.next(what)?;
        parse_ttl(token.text).ok().filter(|seconds| *seconds <= MAX_TTL).ok_or_else(|| self.error(token.line, format!("bad {what} {:?}", token.text)))
    }

    fn name(&mut self, what: &str) -> Result<Name, MasterError> {
        let token = self.next(what)?;
        parse_name(token.text, self.origin).map_err(|error| match error {
            NameError::MissingOrigin => MasterError::new(token.line, MasterErrorKind::MissingOrigin),
            NameError::Malformed => self.error(token.line, format!("bad domain name {:?} in {what}", token.text)),
        })
    }

    /// The next `<character-string>` (RFC 1035 §3.3), if any token is left.
    fn next_character_string(&mut self) -> Result<Option<Vec<u8>>, MasterError> {
        let Some(token) = self.take() else {
            return Ok(None);
        };
        let octets = token_octets(token).ok_or_else(|| self.error(token.line, format!("bad escape in {:?}", token.text)))?;
        if octets.len() > MAX_CHARACTER_STRING {
            let reason = format!("a string of {} octets; at most 255 fit (split it)", octets.len());
            return Err(self.error(token.line, reason));
        }
        Ok(Some(octets))
    }

    fn character_string(&mut self, what: &str) -> Result<Vec<u8>, MasterError> {
        self.next_character_string()?.ok_or_else(|| self.error(self.line, format!("missing {what}")))
    }

    /// RFC 3597 §5: `\# <length> <hex>...`, decoded as wire-format RDATA of the type.
    fn generic(&mut self) -> Result<RData, MasterError> {
        self.next("\\#")?;
        let length: u16 = self.number("data length")?;
        let mut hex = String::new();
        while let Some(token) = self.take() {
            hex.push_str(token.text);
        }
        let octets = hex_octets(&hex).ok_or_else(|| self.error(self.line, "bad hexadecimal data"))?;
        if octets.len() != usize::from(length) {
            let reason = format!("\\# announces {length} octets but {} are given", octets.len());
            return Err(self.error(self.line, reason));
        }
        let mut decoder = BinDecoder::new(&octets);
        RData::read(&mut decoder, self.rtype, Restrict::new(length)).map_err(|error| self.error(self.line, error.to_string()))
    }

    /// DS (RFC 4034 §5.3): key tag, algorithm and digest type in decimal, then the digest in
    /// hexadecimal, which may be split by blanks.
    fn delegation_signer(&mut self) -> Result<RData, MasterError> {
        let key_tag: u16 = self.number("key tag")?;
        let algorithm: u8 = self.number("algorithm")?;
        let digest_type: u8 = self.number("digest type")?;
        let mut hex = String::new();
        while let Some(token) = self.take() {
            hex.push_str(token.text);
        }
        let digest = hex_octets(&hex).filter(|digest| !digest.is_empty()).ok_or_else(|| self.error(self.line, "the digest must be hexadecimal"))?;
        let mut octets = Vec::with_capacity(4 + digest.len());
        octets.extend_from_slice(&key_tag.to_be_bytes());
        octets.push(algorithm);
        octets.push(digest_type);
        octets.extend_from_slice(&digest);
        let length = u16::try_from(octets.len()).map_err(|_| self.error(self.line, "the digest is too long"))?;
        let mut decoder = BinDecoder::new(&octets);
        RData::read(&mut decoder, RecordType::DS, Restrict::new(length)).map_err(|error| self.error(self.line, error.to_string()))
    }

    /// SVCB and HTTPS (RFC 9460 §2.1): priority and parameters by hickory-proto, the target
    /// here (hickory-proto would not resolve a relative target against the origin).
    fn service_binding(&mut self) -> Result<RData, MasterError> {
        let priority = self.next("SvcPriority")?;
        let priority = self.text_for_hickory(priority)?;
        let target = self.name("TargetName")?;
        let rdata = self.by_hickory(vec![priority, Cow::Borrowed(".")], None)?;
        Ok(match rdata {
            RData::SVCB(mut svcb) => {
                svcb.target_name = target;
                RData::SVCB(svcb)
            }
            RData::HTTPS(HTTPS(mut svcb)) => {
                svcb.target_name = target;
                RData::HTTPS(HTTPS(svcb))
            }
            other => other,
        })
    }

    /// The token as hickory-proto's own lexer would hand it to its parsers: a bare token as
    /// written, a quoted one with its escapes decoded.
    fn text_for_hickory(&self, token: &'r Token<'a>) -> Result<Cow<'r, str>, MasterError> {
        if !token.quoted || !token.text.contains('\\') {
            return Ok(Cow::Borrowed(token.text));
        }
        token_octets(token)
            .and_then(|octets| String::from_utf8(octets).ok())
            .map(Cow::Owned)
            .ok_or_else(|| self.error(token.line, format!("bad or non-UTF-8 escape in {:?}", token.text)))
    }

    /// Parses `leading` and all remaining tokens with hickory-proto's presentation-format
    /// parser for the type. With `join_after: Some(n)`, the tokens after the next `n` are
    /// joined into one. Each string is passed as a `"…"` string so hickory's lexer gives it
    /// back unchanged.
    fn by_hickory(&mut self, leading: Vec<Cow<'r, str>>, join_after: Option<usize>) -> Result<RData, MasterError> {
        let first_line = self.tokens.as_slice().first().map_or(self.line, |token| token.line);
        let mut strings = leading;
        let mut joined: Option<String> = None;
        let mut index = 0_usize;
        while let Some(token) = self.take() {
            let text = self.text_for_hickory(token)?;
            match join_after {
                Some(fixed) if index >= fixed => {
                    joined.get_or_insert_with(String::new).push_str(&text);
                }
                _ => strings.push(text),
            }
            index += 1;
        }
        strings.extend(joined.map(Cow::Owned));
        let mut line = String::new();
        for string in &strings {
            line.push('"');
            for ch in string.chars() {
                if ch == '"' || ch == '\\' {
                    line.push('\\');
                }
                line.push(ch);
            }
            line.push_str("\" ");
        }
        RData::try_from_str(self.rtype, &line).map_err(|error| self.error(first_line, error.to_string()))
    }
}

/// Hexadecimal digits (an even number of them) to octets.
fn hex_octets(hex: &str) -> Option<Vec<u8>> {
    fn digit(byte: u8) -> Option<u8> {
        char::from(byte).to_digit(16).and_then(|value| u8::try_from(value).ok())
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some(digit(*high)? << 4 | digit(*low)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SplitMix;
    use hickory_proto::rr::rdata::svcb::{Alpn, IpHint, SvcParamKey, SvcParamValue, SVCB};
    use hickory_proto::rr::DNSClass;

    fn name(text: &str) -> Name {
        Name::from_ascii(text).unwrap()
    }

    fn origin() -> Name {
        name("example.com.")
    }

    fn errors_of(text: &str, origin: Option<&Name>) -> Vec<(usize, MasterErrorKind)> {
        parse(text, origin).unwrap_err().into_iter().map(|e| (e.line, e.kind)).collect()
    }

    fn only_record(text: &str) -> Record {
        let records = parse(text, Some(&origin())).unwrap();
        assert_eq!(records.len(), 1, "{records:?}");
        records.into_iter().next().unwrap().record
    }

    const ZONE: &str = r#"; example.com, a realistic zone
$TTL 1h
$ORIGIN example.com.
@   IN  SOA ns1 hostmaster.example.com. (
            2024010101 ; serial
            2h         ; refresh
            15m        ; retry
            2w         ; expire
            300 )      ; negative caching TTL
    IN  NS  ns1
    IN  NS  ns2.example.net.
    IN  MX  10 mail
    IN  TXT "v=spf1 mx -all" "a; not a comment" "say \"hi\""
    IN  CAA 0 issue "letsencrypt.org"
    IN  HTTPS 1 . alpn=h2,h3 ipv4hint=192.0.2.1

ns1     300 IN A    192.0.2.53
            IN AAAA 2001:db8::53
mail    IN 600 A    192.0.2.25
www     CNAME @
*.www   A       192.0.2.80
_sip._tcp SRV 10 60 5060 sip.example.com.
sub     NS  ns.sub          ; delegation
ns.sub  A   192.0.2.99      ; glue
"#;

    #[test]
    fn reads_a_realistic_zone() {
        let records = parse(ZONE, None).unwrap();
        let seen: Vec<(usize, String, RecordType, u32)> =
            records.iter().map(|r| (r.line, r.record.name.to_string(), r.record.record_type(), r.record.ttl)).collect();
        let expected = [
            (4, "example.com.", RecordType::SOA, 3600),
            (10, "example.com.", RecordType::NS, 3600),
            (11, "example.com.", RecordType::NS, 3600),
            (12, "example.com.", RecordType::MX, 3600),
            (13, "example.com.", RecordType::TXT, 3600),
            (14, "example.com.", RecordType::CAA, 3600),
            (15, "example.com.", RecordType::HTTPS, 3600),
            (17, "ns1.example.com.", RecordType::A, 300),
            (18, "ns1.example.com.", RecordType::AAAA, 3600),
            (19, "mail.example.com.", RecordType::A, 600),
            (20, "www.example.com.", RecordType::CNAME, 3600),
            (21, "*.www.example.com.", RecordType::A, 3600),
            (22, "_sip._tcp.example.com.", RecordType::SRV, 3600),
            (23, "sub.example.com.", RecordType::NS, 3600),
            (24, "ns.sub.example.com.", RecordType::A, 3600),
        ];
        let expected: Vec<(usize, String, RecordType, u32)> = expected.iter().map(|(l, n, t, ttl)| (*l, n.to_string(), *t, *ttl)).collect();
        assert_eq!(seen, expected);
        assert!(records.iter().all(|r| r.record.dns_class == DNSClass::IN && r.record.name.is_fqdn()));

        let data: Vec<&RData> = records.iter().map(|r| &r.record.data).collect();
        assert_eq!(data[0], &RData::SOA(SOA::new(name("ns1.example.com."), name("hostmaster.example.com."), 2024010101, 7200, 900, 1_209_600, 300)));
        assert_eq!(data[1], &RData::NS(NS(name("ns1.example.com."))));
        assert_eq!(data[2], &RData::NS(NS(name("ns2.example.net."))));
        assert_eq!(data[3], &RData::MX(MX::new(10, name("mail.example.com."))));
        assert_eq!(data[4], &RData::TXT(TXT::from_bytes(vec![b"v=spf1 mx -all", b"a; not a comment", b"say \"hi\""])));
        let RData::CAA(caa) = data[5] else { panic!("{:?}", data[5]) };
        assert_eq!(caa.tag.as_str(), "issue");
        assert!(!caa.issuer_critical);
        assert_eq!(caa.value.as_slice(), b"letsencrypt.org");
        assert_eq!(
            data[6],
            &RData::HTTPS(HTTPS(SVCB::new(
                1,
                Name::root(),
                vec![
                    (SvcParamKey::Alpn, SvcParamValue::Alpn(Alpn(vec!["h2".into(), "h3".into()]))),
                    (SvcParamKey::Ipv4Hint, SvcParamValue::Ipv4Hint(IpHint(vec![A::new(192, 0, 2, 1)]))),
                ]
            )))
        );
        assert_eq!(data[7], &RData::A(A::new(192, 0, 2, 53)));
        assert_eq!(data[8], &RData::AAAA(AAAA("2001:db8::53".parse().unwrap())));
        assert_eq!(data[9], &RData::A(A::new(192, 0, 2, 25)));
        assert_eq!(data[10], &RData::CNAME(CNAME(name("example.com."))));
        assert_eq!(data[11], &RData::A(A::new(192, 0, 2, 80)));
        assert_eq!(data[12], &RData::SRV(SRV::new(10, 60, 5060, name("sip.example.com."))));
        assert_eq!(data[13], &RData::NS(NS(name("ns.sub.example.com."))));
        assert_eq!(data[14], &RData::A(A::new(192, 0, 2, 99)));
        assert!(records[11].record.name.is_wildcard());
    }

    #[test]
    fn origin_argument_and_relative_origin() {
        let text = "www 60 A 192.0.2.1\n$ORIGIN sub\nhost 60 A 192.0.2.2\n@ 60 NS ns\n";
        let records = parse(text, Some(&name("example.com"))).unwrap();
        let names: Vec<String> = records.iter().map(|r| r.record.name.to_string()).collect();
        assert_eq!(names, ["www.example.com.", "host.sub.example.com.", "sub.example.com."]);
        assert_eq!(records[2].record.data, RData::NS(NS(name("ns.sub.example.com."))));
    }

    #[test]
    fn ttl_defaults_follow_ttl_directive_then_last_ttl() {
        let text = "a 120 A 192.0.2.1\nb A 192.0.2.2\n$TTL 1h30m\nc A 192.0.2.3\nd 5 A 192.0.2.4\ne A 192.0.2.5\n";
        let ttls: Vec<u32> = parse(text, Some(&origin())).unwrap().iter().map(|r| r.record.ttl).collect();
        assert_eq!(ttls, [120, 120, 5400, 5, 5400]);
    }

    #[test]
    fn case_insensitive_keywords_and_class_forms() {
        let text = "$ttl 60\nA in a 192.0.2.1\nb CLASS1 TYPE1 192.0.2.2\nc 60 In Aaaa ::1\n";
        let records = parse(text, Some(&origin())).unwrap();
        let types: Vec<RecordType> = records.iter().map(|r| r.record.record_type()).collect();
        assert_eq!(types, [RecordType::A, RecordType::A, RecordType::AAAA]);
        assert_eq!(records[0].record.name, name("a.example.com."));
    }

    #[test]
    fn ds_in_presentation_form() {
        let record = only_record("x 60 DS 60485 5 1 2BB183AF5F22588179A5 3B0A98631FAD1A292118\n");
        assert_eq!(record.record_type(), RecordType::DS);
        let generic = only_record("x 60 DS \\# 24 ec4505012bb183af5f22588179a53b0a98631fad1a292118\n");
        assert_eq!(record.data, generic.data);
        let errors = errors_of("x 60 DS 1 2 3 xyz\n", Some(&origin()));
        assert!(matches!(&errors[..], [(1, MasterErrorKind::BadRdata { .. })]), "{errors:?}");
    }

    #[test]
    fn generic_rdata_of_known_and_unknown_types() {
        let record = only_record("x 60 A \\# 4 C0000201\n");
        assert_eq!(record.data, RData::A(A::new(192, 0, 2, 1)));
        let record = only_record("x 60 TYPE65280 \\# 3 ab cd\tEF\n");
        assert_eq!(record.record_type(), RecordType::Unknown(65280));
        let RData::Unknown { rdata, .. } = &record.data else { panic!("{:?}", record.data) };
        assert_eq!(rdata.anything, [0xab, 0xcd, 0xef]);
        let errors = errors_of("x 60 TYPE65280 \\# 4 abcd\n", Some(&origin()));
        assert!(matches!(&errors[..], [(1, MasterErrorKind::BadRdata { .. })]), "{errors:?}");
        // A compression pointer to itself in a CNAME must fail cleanly.
        let errors = errors_of("x 60 CNAME \\# 2 C000\n", Some(&origin()));
        assert!(matches!(&errors[..], [(1, MasterErrorKind::BadRdata { .. })]), "{errors:?}");
    }

    #[test]
    fn names_with_escapes_case_and_idna() {
        let record = only_record("a\\.b.Sub 60 A 192.0.2.1\n");
        let labels: Vec<&[u8]> = record.name.iter().collect();
        assert_eq!(labels, [&b"a.b"[..], b"Sub", b"example", b"com"]);
        let record = only_record("\\065\\032x 60 A 192.0.2.1\n");
        assert_eq!(record.name.iter().next(), Some(&b"A x"[..]));
        let record = only_record("bücher 60 A 192.0.2.1\n");
        assert_eq!(record.name, name("xn--bcher-kva.example.com."));
        let errors = errors_of("a..b 60 A 192.0.2.1\n", Some(&origin()));
        assert_eq!(errors, [(1, MasterErrorKind::BadName("a..b".into()))]);
        let long = "x".repeat(64);
        let errors = errors_of(&format!("{long} 60 A 192.0.2.1\n"), Some(&origin()));
        assert_eq!(errors, [(1, MasterErrorKind::BadName(long))]);
    }

    #[test]
    fn txt_escapes_and_multiline() {
        let record = only_record("t 60 TXT ( \"one (\"\n  \"t\\195\\169\" ; comment (\n  bare\\;x )\n");
        assert_eq!(record.data, RData::TXT(TXT::from_bytes(vec![b"one (", "té".as_bytes(), b"bare;x"])));
        let errors = errors_of(&format!("t 60 TXT \"{}\"\n", "x".repeat(256)), Some(&origin()));
        assert!(matches!(&errors[..], [(1, MasterErrorKind::BadRdata { .. })]), "{errors:?}");
    }

    #[test]
    fn svcb_naptr_and_delegated_types() {
        let record = only_record("_dns 60 SVCB 1 dns alpn=\"dot\" port=853\n");
        let RData::SVCB(svcb) = &record.data else { panic!("{:?}", record.data) };
        assert_eq!(svcb.target_name, name("dns.example.com."));
        assert_eq!(svcb.svc_params.len(), 2);
        let record = only_record("n 60 NAPTR 100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp\n");
        let RData::NAPTR(naptr) = &record.data else { panic!("{:?}", record.data) };
        assert_eq!(naptr.replacement, name("_sip._udp.example.com."));
        assert_eq!(&*naptr.flags, b"S");
        let record = only_record("h 60 HINFO \"PC\" \"Linux\"\n");
        assert_eq!(record.record_type(), RecordType::HINFO);
        let record = only_record("s 60 SSHFP 4 2 ( 0123456789abcdef0123456789abcdef\n 0123456789abcdef0123456789abcdef )\n");
        assert_eq!(record.data.to_string(), "4 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        let record = only_record("_443._tcp 60 TLSA 3 1 1 0123456789abcdef 0123456789abcdef\n");
        assert_eq!(record.record_type(), RecordType::TLSA);
        let record = only_record("c 60 CAA 128 iodef \"mailto:a@example.com\"\n");
        assert_eq!(record.data.to_string(), "128 iodef \"mailto:a@example.com\"");
    }

    #[test]
    fn unbalanced_parenthesis_reports_its_opening_line() {
        let text = "$ORIGIN example.com.\n$TTL 60\n@ SOA ns host (\n  1 2 3 4 5\nwww A 192.0.2.1\n";
        assert_eq!(errors_of(text, None), [(3, MasterErrorKind::UnbalancedParentheses)]);
        let text = "$TTL 60\nwww A 192.0.2.1 )\nok A 192.0.2.2\n";
        assert_eq!(errors_of(text, Some(&origin())), [(2, MasterErrorKind::UnbalancedParentheses)]);
    }

    #[test]
    fn error_kinds_and_lines() {
        let o = Some(origin());
        let o = o.as_ref();
        assert_eq!(errors_of("\n\nwww 1x A 192.0.2.1\n", o), [(3, MasterErrorKind::BadTtl("1x".into()))]);
        assert_eq!(errors_of("$TTL 4294967295\n", o), [(1, MasterErrorKind::BadTtl("4294967295".into()))]);
        assert_eq!(errors_of("www 60 IN FOO bar\n", o), [(1, MasterErrorKind::UnknownType("FOO".into()))]);
        assert_eq!(
            errors_of("$TTL 60\nwww A 300.1.1.1\n", o),
            [(2, MasterErrorKind::BadRdata { rtype: "A".into(), reason: "bad IPv4 address \"300.1.1.1\"".into() })]
        );
        assert_eq!(errors_of("www 60 A 192.0.2.1\n", None), [(1, MasterErrorKind::MissingOrigin)]);
        assert_eq!(errors_of("www.example. 60 CNAME x\n", None), [(1, MasterErrorKind::MissingOrigin)]);
        assert_eq!(errors_of("$INCLUDE other.zone\n", o), [(1, MasterErrorKind::Include)]);
        assert!(matches!(&errors_of("$GENERATE 1-2 x A 1.2.3.$\n", o)[..], [(1, MasterErrorKind::BadDirective(_))]));
        assert_eq!(errors_of("www CH 60 A 192.0.2.1\n", o), [(1, MasterErrorKind::UnsupportedClass("CH".into()))]);
        assert_eq!(errors_of("www A 192.0.2.1\n", o), [(1, MasterErrorKind::MissingTtl)]);
        assert_eq!(errors_of("  60 A 192.0.2.1\n  60 A 192.0.2.2\n", o), [(1, MasterErrorKind::MissingOwner)]);
        assert_eq!(errors_of("www 60 IN\n", o), [(1, MasterErrorKind::MissingType)]);
        assert_eq!(errors_of("www IN HS A 192.0.2.1\n", o), [(1, MasterErrorKind::UnsupportedClass("HS".into()))]);
        assert_eq!(errors_of("www 60 DNAME x\n", o), [(1, MasterErrorKind::UnsupportedType("DNAME".into()))]);
        assert_eq!(errors_of("www 60 TXT \"abc\n", o), [(1, MasterErrorKind::UnterminatedQuote)]);
        let extra = errors_of("www 60 A 192.0.2.1 192.0.2.2\n", o);
        assert!(matches!(&extra[..], [(1, MasterErrorKind::BadRdata { .. })]), "{extra:?}");
        let missing = errors_of("@ 60 SOA ns host (\n 1 2 3\n 4 )\n", o);
        assert!(matches!(&missing[..], [(3, MasterErrorKind::BadRdata { .. })]), "{missing:?}");
        assert_eq!(MasterError::new(12, MasterErrorKind::BadTtl("1x".into())).to_string(), "line 12: bad TTL \"1x\"");
    }

    #[test]
    fn keeps_going_after_errors() {
        let text = "$TTL 60\nbad 1x A 192.0.2.1\n   A 192.0.2.2\nok A 192.0.2.3\nok2 A nope\n  TXT \"open\n";
        assert_eq!(
            errors_of(text, Some(&origin())),
            [
                (2, MasterErrorKind::BadTtl("1x".into())),
                (5, MasterErrorKind::BadRdata { rtype: "A".into(), reason: "bad IPv4 address \"nope\"".into() }),
                (6, MasterErrorKind::UnterminatedQuote),
            ]
        );
        let many = "x 1x A 192.0.2.1\n".repeat(500);
        let errors = parse(&many, Some(&origin())).unwrap_err();
        assert_eq!(errors.len(), MAX_ERRORS + 1);
        assert_eq!(errors.last().map(|e| &e.kind), Some(&MasterErrorKind::TooManyErrors));
    }

    #[test]
    fn windows_line_endings_bom_and_comments() {
        let text = "\u{feff}$TTL 60\r\n; comment\r\nwww A 192.0.2.1 ; trailing\r\n\r\n   ; indented comment\r\n";
        let records = parse(text, Some(&origin())).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].line, 3);
    }

    #[test]
    fn mutated_zones_never_panic() {
        const ALPHABET: &[char] = &[
            '"',
            '(',
            ')',
            ';',
            '\\',
            '\n',
            ' ',
            '\t',
            '\r',
            '$',
            '@',
            '.',
            '*',
            '=',
            ',',
            '#',
            '0',
            '9',
            'a',
            'Z',
            'é',
            '\u{1F600}',
            '\u{feff}',
            '\0',
            '\u{7f}',
            'ß',
            '-',
            '_',
        ];
        let mut rng = SplitMix::new(0x9E37_79B9_7F4A_7C15);
        let origin = origin();
        for round in 0..1000 {
            let mut chars: Vec<char> = ZONE.chars().collect();
            for _ in 0..=rng.index(6) {
                let at = rng.index(chars.len());
                match rng.index(5) {
                    0 => chars[at] = ALPHABET[rng.index(ALPHABET.len())],
                    1 => {
                        chars.remove(at);
                    }
                    2 => chars.insert(at, ALPHABET[rng.index(ALPHABET.len())]),
                    3 => chars[at] = char::from_u32(rng.index(0x3000) as u32).unwrap_or('x'),
                    _ => {
                        let end = (at + rng.index(40)).min(chars.len());
                        let copy: Vec<char> = chars[at..end].to_vec();
                        let to = rng.index(chars.len());
                        chars.splice(to..to, copy);
                    }
                }
            }
            let text: String = chars.into_iter().collect();
            let origin = if round % 2 == 0 { Some(&origin) } else { None };
            let _ = parse(&text, origin);
        }
    }

    #[test]
    fn odd_inputs_never_panic() {
        for text in [
            "",
            "\n",
            "(",
            ")",
            "\"",
            "\\",
            "@",
            "$",
            "$ORIGIN",
            "$TTL",
            "x",
            " x",
            "x \\",
            "x \"\\",
            "é 60 A \\# 1",
            "x 60 TYPE65535 \\# 0",
            "x 60 SOA",
            "x 60 HTTPS",
            "x 60 HTTPS 1 . alpn=\"",
            "x 60 CAA 0",
            "x 60 TXT \"\\999\"",
            "x 60 TXT \\1",
            "\\\\ 60 A 1.2.3.4",
            "x 60 NAPTR 1 2 \"é\"",
        ] {
            let _ = parse(text, Some(&origin()));
            let _ = parse(text, None);
        }
    }

    #[test]
    #[ignore = "timing probe: cargo test --release -- --ignored --nocapture"]
    fn large_zone_timing() {
        let mut text = String::from("$ORIGIN example.com.\n$TTL 300\n");
        for i in 0..100_000u32 {
            text.push_str(&format!("host{i} IN A 10.{}.{}.{}\n", i >> 16, (i >> 8) & 255, i & 255));
        }
        let started = std::time::Instant::now();
        let records = parse(&text, None).unwrap();
        println!("{} records in {:?}", records.len(), started.elapsed());
        assert_eq!(records.len(), 100_000);
    }
}
