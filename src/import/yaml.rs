//! A cursor over a parsed YAML document that remembers where it is: the path from the root
//! (`www.dynamic.pools.one.values[2].weight`) and the line and column, so every structural
//! problem in an octoDNS file comes back as an [`ImportError`] naming the place, never a panic.
//!
//! Scalars are kept as written (the loader's lazy mode) and typed here when a field asks for
//! a type: a TXT value or an SSHFP fingerprint that happens to look like a number stays the
//! text the operator wrote.

use std::borrow::Cow;

use saphyr::{MarkedYaml, Scalar, YamlData, YamlLoader};
use saphyr_parser::{Event, Parser, ScalarStyle, Span, SpannedEventReceiver};

use super::ImportError;

/// Deepest nesting of lists and mappings read (an octoDNS file needs six levels); deeper
/// input is refused before a tree is built, so neither building nor dropping it can exhaust
/// the stack.
const MAX_DEPTH: usize = 32;

/// Parses one YAML document; `None` for an empty file. Syntax errors carry line and column.
pub(crate) fn parse(text: &str) -> Result<Option<MarkedYaml<'_>>, ImportError> {
    let mut receiver = Bounded { loader: YamlLoader::default(), depth: 0, too_deep: None };
    receiver.loader.early_parse(false);
    let whole = |message: String| ImportError { path: String::new(), message };
    let syntax = |error: &saphyr::ScanError| whole(format!("not YAML: {} (line {}, column {})", error.info(), error.marker().line(), error.marker().col() + 1));
    // Events are pulled one by one (the parser's own `load` recurses once per level).
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| syntax(&e))?;
        receiver.on_event(event, span);
        if let Some(span) = receiver.too_deep {
            return Err(whole(format!("the file nests lists and mappings more than {MAX_DEPTH} deep ({})", place(span))));
        }
    }
    if let Some(error) = receiver.loader.error() {
        return Err(syntax(error));
    }
    let mut documents = receiver.loader.into_documents().into_iter();
    let first = documents.next();
    if let Some(second) = documents.next() {
        return Err(whole(format!("more than one YAML document (the second starts at {})", place(second.span))));
    }
    Ok(first.filter(
        |document| !matches!(&document.data, YamlData::Representation(text, ScalarStyle::Plain, None) if text.is_empty() || text == "~" || text == "null"),
    ))
}

/// Forwards events to the loader until the nesting gets too deep, then stops.
struct Bounded<'input> {
    loader: YamlLoader<'input, MarkedYaml<'input>>,
    depth: usize,
    too_deep: Option<Span>,
}

impl<'input> SpannedEventReceiver<'input> for Bounded<'input> {
    fn on_event(&mut self, event: Event<'input>, span: Span) {
        if self.too_deep.is_some() {
            return;
        }
        match &event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    self.too_deep = Some(span);
                    return;
                }
            }
            Event::SequenceEnd | Event::MappingEnd => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        self.loader.on_event(event, span);
    }
}

fn place(span: Span) -> String {
    format!("line {}, column {}", span.start.line(), span.start.col() + 1)
}

/// A YAML node and its path from the document's root.
#[derive(Clone)]
pub(crate) struct At<'a> {
    pub node: &'a MarkedYaml<'a>,
    pub path: String,
}

/// A scalar as the core schema reads it.
enum Typed<'t> {
    Null,
    Bool(bool),
    Int(i64),
    Float,
    Str(&'t str),
}

impl<'a> At<'a> {
    pub fn root(node: &'a MarkedYaml<'a>) -> Self {
        Self { node, path: String::new() }
    }

    /// An error at this node: its path, and its line and column in the message.
    pub fn error(&self, message: impl Into<String>) -> ImportError {
        ImportError { path: self.path.clone(), message: format!("{} ({})", message.into(), place(self.node.span)) }
    }

    /// The text of a scalar as written, and whether it is a string whatever it looks like
    /// (quoted, or tagged `!!str`); `None` for other nodes and for scalars with other tags.
    fn raw(&self) -> Option<(&'a str, bool)> {
        match &self.node.data {
            YamlData::Representation(text, style, None) => Some((text.as_ref(), *style != ScalarStyle::Plain)),
            YamlData::Representation(text, style, Some(tag)) if tag.is_yaml_core_schema() => {
                Some((text.as_ref(), *style != ScalarStyle::Plain || tag.suffix == "str"))
            }
            YamlData::Value(Scalar::String(text)) => Some((text.as_ref(), true)),
            _ => None,
        }
    }

    fn tag(&self) -> Option<String> {
        match &self.node.data {
            YamlData::Tagged(tag, _) => Some(tag.to_string()),
            YamlData::Representation(_, _, Some(tag)) if !tag.is_yaml_core_schema() => Some(tag.to_string()),
            _ => None,
        }
    }

    fn typed(&self) -> Option<Typed<'a>> {
        let (text, quoted) = self.raw()?;
        if quoted {
            return Some(Typed::Str(text));
        }
        Some(match Scalar::parse_from_cow(Cow::Borrowed(text)) {
            Scalar::Null => Typed::Null,
            Scalar::Boolean(value) => Typed::Bool(value),
            Scalar::Integer(value) => Typed::Int(value),
            Scalar::FloatingPoint(_) => Typed::Float,
            Scalar::String(_) => Typed::Str(text),
        })
    }

    /// What kind of node this is, for messages.
    pub fn kind(&self) -> &'static str {
        if self.tag().is_some() {
            return "a tagged value";
        }
        match &self.node.data {
            YamlData::Sequence(_) => "a list",
            YamlData::Mapping(_) => "a mapping",
            YamlData::Tagged(..) => "a tagged value",
            YamlData::Alias(_) | YamlData::BadValue => "a bad value",
            YamlData::Value(_) | YamlData::Representation(..) => match self.typed() {
                Some(Typed::Null) | None => "null",
                Some(Typed::Bool(_)) => "a boolean",
                Some(Typed::Int(_)) => "an integer",
                Some(Typed::Float) => "a number",
                Some(Typed::Str(_)) => "a string",
            },
        }
    }

    fn expected(&self, what: &str) -> ImportError {
        if let Some(tag) = self.tag() {
            return self.error(format!("expected {what}, found a value tagged {tag} (YAML tags such as !include are not read)"));
        }
        self.error(format!("expected {what}, found {}", self.kind()))
    }

    fn key_path(&self, key: &str) -> String {
        let key = if key.is_empty() { "''" } else { key };
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.typed(), Some(Typed::Null))
    }

    pub fn is_mapping(&self) -> bool {
        matches!(self.node.data, YamlData::Mapping(_))
    }

    pub fn is_list(&self) -> bool {
        matches!(self.node.data, YamlData::Sequence(_))
    }

    /// The members of a mapping in document order, keys as text (`''` for the empty key).
    pub fn entries(&self) -> Result<Vec<(String, At<'a>)>, ImportError> {
        let YamlData::Mapping(map) = &self.node.data else { return Err(self.expected("a mapping")) };
        let mut out = Vec::with_capacity(map.len());
        for (key, value) in map.iter() {
            let key_at = At { node: key, path: self.path.clone() };
            let text = match key_at.typed() {
                Some(Typed::Str(text)) => text.to_owned(),
                Some(Typed::Int(_) | Typed::Float | Typed::Bool(_)) => key_at.raw().map(|(text, _)| text.to_owned()).unwrap_or_default(),
                _ => return Err(key_at.error(format!("a key here is a name, found {}", key_at.kind()))),
            };
            let path = self.key_path(&text);
            out.push((text, At { node: value, path }));
        }
        Ok(out)
    }

    /// A member of a mapping; `None` when absent or null, or when this is not a mapping.
    pub fn get(&self, key: &str) -> Option<At<'a>> {
        let YamlData::Mapping(map) = &self.node.data else { return None };
        map.iter().find_map(|(k, value)| {
            let key_at = At { node: k, path: String::new() };
            let matches = key_at.raw().is_some_and(|(text, _)| text == key);
            let value = At { node: value, path: self.key_path(key) };
            (matches && !value.is_null()).then_some(value)
        })
    }

    /// The keys of a mapping (empty for other nodes).
    pub fn keys(&self) -> Vec<String> {
        self.entries().map(|entries| entries.into_iter().map(|(key, _)| key).collect()).unwrap_or_default()
    }

    /// The elements of a list.
    pub fn list(&self) -> Result<Vec<At<'a>>, ImportError> {
        let YamlData::Sequence(items) = &self.node.data else { return Err(self.expected("a list")) };
        Ok(items.iter().enumerate().map(|(i, node)| At { node, path: format!("{}[{i}]", self.path) }).collect())
    }

    /// A scalar's text as written: strings, and numbers or booleans where text is wanted
    /// (`value: 10` for a TXT record is the text `10`).
    pub fn text(&self) -> Result<&'a str, ImportError> {
        match self.typed() {
            Some(Typed::Str(text)) => Ok(text),
            Some(Typed::Int(_) | Typed::Float | Typed::Bool(_)) => self.raw().map(|(text, _)| text).ok_or_else(|| self.expected("a string")),
            _ => Err(self.expected("a string")),
        }
    }

    /// An integer, also written as a quoted string of digits.
    pub fn int(&self) -> Result<i64, ImportError> {
        match self.typed() {
            Some(Typed::Int(value)) => Ok(value),
            Some(Typed::Str(text)) => text.trim().parse().map_err(|_| self.error(format!("expected an integer, found {text:?}"))),
            _ => Err(self.expected("an integer")),
        }
    }

    /// `true` or `false`.
    pub fn bool(&self) -> Result<bool, ImportError> {
        match self.typed() {
            Some(Typed::Bool(value)) => Ok(value),
            _ => Err(self.expected("true or false")),
        }
    }

    pub fn opt_text(&self, key: &str) -> Result<Option<&'a str>, ImportError> {
        self.get(key).map(|at| at.text()).transpose()
    }

    pub fn opt_int(&self, key: &str) -> Result<Option<i64>, ImportError> {
        self.get(key).map(|at| at.int()).transpose()
    }

    /// A required member.
    pub fn required(&self, key: &str) -> Result<At<'a>, ImportError> {
        self.get(key).ok_or_else(|| self.error(format!("{key} is missing")))
    }

    /// A list, or one item standing for a list of one (octoDNS's `value` / `values`).
    pub fn one_or_many(&self) -> Result<Vec<At<'a>>, ImportError> {
        if self.is_list() {
            self.list()
        } else {
            Ok(vec![self.clone()])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_lines() {
        let text = "www:\n  ttl: 60\n  values:\n  - a\n  - {weight: x}\n";
        let doc = parse(text).unwrap().unwrap();
        let root = At::root(&doc);
        let www = root.get("www").unwrap();
        assert_eq!(www.get("ttl").unwrap().int().unwrap(), 60);
        let values = www.get("values").unwrap().list().unwrap();
        let error = values[1].get("weight").unwrap().int().unwrap_err();
        assert_eq!(error.to_string(), "www.values[1].weight: expected an integer, found \"x\" (line 5, column 14)");
        assert_eq!(values[0].text().unwrap(), "a");
    }

    #[test]
    fn scalars_keep_their_text() {
        let doc = parse("a: 0x1F\nb: '12'\nc: 1.50\n'': x\n").unwrap().unwrap();
        let root = At::root(&doc);
        assert_eq!(root.get("a").unwrap().text().unwrap(), "0x1F");
        assert_eq!(root.get("a").unwrap().int().unwrap(), 31);
        assert_eq!(root.get("b").unwrap().int().unwrap(), 12);
        assert_eq!(root.get("c").unwrap().text().unwrap(), "1.50");
        assert_eq!(root.entries().unwrap()[3].1.path, "''");
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert!(parse("").unwrap().is_none());
        assert!(parse("a: [").unwrap_err().message.starts_with("not YAML"));
        assert!(parse("a: 1\n---\nb: 2\n").unwrap_err().message.contains("more than one YAML document"));
        assert!(parse("a: 1\na: 2\n").is_err());
        let deep = "- ".repeat(10_000) + "x\n";
        assert!(parse(&deep).unwrap_err().message.contains("nests lists and mappings"));
        let doc = parse("a: !include other.yaml\n").unwrap().unwrap();
        let error = At::root(&doc).get("a").unwrap().text().unwrap_err();
        assert!(error.message.contains("tagged"), "{error}");
    }
}
