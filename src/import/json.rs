//! A cursor over parsed JSON that remembers where it is (`ResourceRecordSets[3].Weight`), so
//! every structural problem comes back as an [`ImportError`] naming the place, never a panic.

use serde_json::Value;

use super::ImportError;

/// A JSON value and its path from the document's root.
#[derive(Clone)]
pub(crate) struct At<'a> {
    pub value: &'a Value,
    pub path: String,
}

/// Parses a JSON document; syntax errors carry line and column. `what` reads "the record sets
/// are", "the traffic policy is"...
pub(crate) fn parse(text: &str, what: &str) -> Result<Value, ImportError> {
    serde_json::from_str(text).map_err(|e| ImportError { path: String::new(), message: format!("{what} not JSON: {e}") })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> At<'a> {
    pub fn root(value: &'a Value) -> Self {
        Self { value, path: String::new() }
    }

    pub fn error(&self, message: impl Into<String>) -> ImportError {
        ImportError { path: self.path.clone(), message: message.into() }
    }

    fn expected(&self, what: &str) -> ImportError {
        self.error(format!("expected {what}, found {}", kind(self.value)))
    }

    fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// A member of an object; `None` when absent, null, or when this is not an object.
    pub fn get(&self, key: &str) -> Option<At<'a>> {
        match self.value.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(At { value, path: self.key_path(key) }),
        }
    }

    /// The members of an object, in document order.
    pub fn object(&self) -> Result<Vec<(&'a str, At<'a>)>, ImportError> {
        match self.value {
            Value::Object(map) => Ok(map.iter().map(|(k, v)| (k.as_str(), At { value: v, path: self.key_path(k) })).collect()),
            _ => Err(self.expected("an object")),
        }
    }

    /// The elements of an array.
    pub fn array(&self) -> Result<Vec<At<'a>>, ImportError> {
        match self.value {
            Value::Array(items) => Ok(items.iter().enumerate().map(|(i, value)| At { value, path: format!("{}[{i}]", self.path) }).collect()),
            _ => Err(self.expected("an array")),
        }
    }

    pub fn is_object(&self) -> bool {
        self.value.is_object()
    }

    pub fn str(&self) -> Result<&'a str, ImportError> {
        self.value.as_str().ok_or_else(|| self.expected("a string"))
    }

    /// `true`/`false`, also written as the strings `"true"`/`"false"` (traffic policies do).
    pub fn bool(&self) -> Result<bool, ImportError> {
        match self.value {
            Value::Bool(b) => Ok(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
            _ => Err(self.expected("true or false")),
        }
    }

    /// An integer, also written as a string of digits (`"Weight": "20"`).
    pub fn int(&self) -> Result<i64, ImportError> {
        match self.value {
            Value::Number(n) => n.as_i64().ok_or_else(|| self.error(format!("expected an integer, found {n}"))),
            Value::String(s) => s.trim().parse().map_err(|_| self.error(format!("expected an integer, found {s:?}"))),
            _ => Err(self.expected("an integer")),
        }
    }

    /// A finite number, also written as a string (`"Latitude": "47.61"`).
    pub fn float(&self) -> Result<f64, ImportError> {
        let parsed = match self.value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => return Err(self.expected("a number")),
        };
        parsed.filter(|f| f.is_finite()).ok_or_else(|| self.error(format!("expected a number, found {}", self.value)))
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ImportError> {
        self.get(key).map(|at| at.str()).transpose()
    }

    pub fn req_str(&self, key: &str) -> Result<&'a str, ImportError> {
        match self.get(key) {
            Some(at) => at.str(),
            None => Err(self.error(format!("{key} is missing"))),
        }
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, ImportError> {
        self.get(key).map(|at| at.bool()).transpose()
    }

    pub fn opt_int(&self, key: &str) -> Result<Option<i64>, ImportError> {
        self.get(key).map(|at| at.int()).transpose()
    }

    /// The keys of an object (empty for other values).
    pub fn keys(&self) -> Vec<&'a str> {
        match self.value {
            Value::Object(map) => map.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
}
