//! Strict JSON reading and canonical string writing, shared by [`crate::dsse`],
//! [`crate::event`] and [`crate::leaf`].
//!
//! serde's derived `Deserialize` lets too much through for a log that signs
//! bytes: a struct also accepts a JSON array, and a type error does not say
//! which field it was about. So every parser here works in two steps:
//! [`parse_value`] turns bytes into a [`serde_json::Value`] while refusing
//! duplicate keys (serde_json would silently keep the last one), then an
//! [`Object`] reader walks it, refusing unknown fields and naming the field
//! of every missing or mistyped value.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a JSON document does not have the expected shape. The `path` of a
/// field is written like `publisher.kind` or `signatures[1].sig`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not well-formed JSON (or nested too deeply, or trailing bytes).
    #[error("malformed JSON: {message}")]
    Syntax {
        /// serde_json's description, with line and column.
        message: String,
    },
    /// An object holds the same key twice.
    #[error("duplicate key `{path}`")]
    DuplicateKey {
        /// Path of the repeated key.
        path: String,
    },
    /// A key that this kind of object does not have.
    #[error("unknown field `{path}`")]
    UnknownField {
        /// Path of the unexpected key.
        path: String,
    },
    /// A required key is absent.
    #[error("missing field `{path}`")]
    MissingField {
        /// Path of the absent key.
        path: String,
    },
    /// A value of the wrong JSON type.
    #[error("field `{path}`: expected {expected}, found {found}")]
    WrongType {
        /// Path of the value.
        path: String,
        /// What was expected, e.g. "a string".
        expected: &'static str,
        /// What was there, e.g. "a number".
        found: &'static str,
    },
}

/// Where a value sits in a document, built on the stack while walking it and
/// only rendered to a string when an error names it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Path<'p> {
    /// The document itself.
    Root,
    /// A key of an object.
    Key(&'p Path<'p>, &'p str),
    /// An element of an array.
    Index(&'p Path<'p>, usize),
}

impl<'p> Path<'p> {
    /// The path of `key` inside this object.
    pub(crate) fn key(&'p self, key: &'p str) -> Path<'p> {
        Path::Key(self, key)
    }

    /// The path of `key` inside this object, rendered.
    pub(crate) fn field(&self, key: &str) -> String {
        Path::Key(self, key).to_string()
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("(top level)"),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// Parses one JSON document, refusing duplicate keys at any depth. serde_json
/// limits nesting to 128 levels, so hostile input cannot overflow the stack.
pub(crate) fn parse_value(bytes: &[u8]) -> Result<Value, JsonError> {
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = StrictValue {
        path: Path::Root,
        duplicate: &duplicate,
    };
    let result = seed
        .deserialize(&mut de)
        .and_then(|value| de.end().map(|()| value));
    result.map_err(|e| match duplicate.into_inner() {
        Some(path) => JsonError::DuplicateKey { path },
        None => JsonError::Syntax {
            message: e.to_string(),
        },
    })
}

/// Deserializes any self-describing input into a [`Value`], refusing
/// duplicate keys; used by the `Deserialize` impls of the strict types.
pub(crate) fn deserialize_value<'de, D: de::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    let duplicate = RefCell::new(None);
    StrictValue {
        path: Path::Root,
        duplicate: &duplicate,
    }
    .deserialize(d)
}

/// A [`DeserializeSeed`] building a [`Value`]. The path of a duplicate key is
/// also left in `duplicate`, because a serde error cannot carry a typed cause.
struct StrictValue<'p> {
    path: Path<'p>,
    duplicate: &'p RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let seed = StrictValue {
                path: Path::Index(&self.path, out.len()),
                duplicate: self.duplicate,
            };
            match seq.next_element_seed(seed)? {
                Some(value) => out.push(value),
                None => return Ok(Value::Array(out)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                let path = self.path.field(&key);
                let error = de::Error::custom(format_args!("duplicate key `{path}`"));
                *self.duplicate.borrow_mut() = Some(path);
                return Err(error);
            }
            let seed = StrictValue {
                path: self.path.key(&key),
                duplicate: self.duplicate,
            };
            let value = map.next_value_seed(seed)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// How a value's JSON type is named in errors.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_u64() => "a number",
        Value::Number(n) if n.is_i64() => "a negative number",
        Value::Number(_) => "a fractional or huge number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object being read field by field, knowing its own path.
pub(crate) struct Object<'a, 'p> {
    map: &'a Map<String, Value>,
    path: Path<'p>,
}

impl<'a, 'p> Object<'a, 'p> {
    /// Reads `value` as an object.
    pub(crate) fn new(value: &'a Value, path: Path<'p>) -> Result<Self, JsonError> {
        match value {
            Value::Object(map) => Ok(Object { map, path }),
            other => Err(JsonError::WrongType {
                path: path.to_string(),
                expected: "an object",
                found: type_name(other),
            }),
        }
    }

    /// Refuses any key not in `allowed`.
    pub(crate) fn only(&self, allowed: &[&str]) -> Result<(), JsonError> {
        match self.map.keys().find(|key| !allowed.contains(&key.as_str())) {
            Some(key) => Err(JsonError::UnknownField {
                path: self.path.field(key),
            }),
            None => Ok(()),
        }
    }

    /// The path of this object.
    pub(crate) fn path(&self) -> &Path<'p> {
        &self.path
    }

    /// The rendered path of `key` inside this object, for error messages.
    pub(crate) fn field(&self, key: &str) -> String {
        self.path.field(key)
    }

    fn wrong_type(&self, key: &str, expected: &'static str, found: &Value) -> JsonError {
        JsonError::WrongType {
            path: self.field(key),
            expected,
            found: type_name(found),
        }
    }

    /// The value of `key`, if present.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// The value of a required `key`.
    fn require(&self, key: &str) -> Result<&'a Value, JsonError> {
        self.get(key).ok_or_else(|| JsonError::MissingField {
            path: self.field(key),
        })
    }

    /// A required string.
    pub(crate) fn str(&self, key: &str) -> Result<&'a str, JsonError> {
        let value = self.require(key)?;
        value
            .as_str()
            .ok_or_else(|| self.wrong_type(key, "a string", value))
    }

    /// An optional string. `null` is refused: an absent value is written by
    /// leaving the key out, so that each value has one spelling.
    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, JsonError> {
        self.get(key).map(|_| self.str(key)).transpose()
    }

    /// A required non-negative integer.
    pub(crate) fn u64(&self, key: &str) -> Result<u64, JsonError> {
        let value = self.require(key)?;
        value
            .as_u64()
            .ok_or_else(|| self.wrong_type(key, "a non-negative integer", value))
    }

    /// An optional non-negative integer (absent, never `null`).
    pub(crate) fn opt_u64(&self, key: &str) -> Result<Option<u64>, JsonError> {
        self.get(key).map(|_| self.u64(key)).transpose()
    }

    /// A required key whose value is a non-negative integer or `null`.
    pub(crate) fn u64_or_null(&self, key: &str) -> Result<Option<u64>, JsonError> {
        match self.require(key)? {
            Value::Null => Ok(None),
            value => match value.as_u64() {
                Some(n) => Ok(Some(n)),
                None => Err(self.wrong_type(key, "a non-negative integer or null", value)),
            },
        }
    }

    /// A required array.
    pub(crate) fn array(&self, key: &str) -> Result<&'a [Value], JsonError> {
        let value = self.require(key)?;
        match value {
            Value::Array(items) => Ok(items),
            other => Err(self.wrong_type(key, "an array", other)),
        }
    }

    /// A required nested object.
    pub(crate) fn object<'s>(&'s self, key: &'s str) -> Result<Object<'a, 's>, JsonError> {
        Object::new(self.require(key)?, self.path.key(key))
    }

    /// An optional nested object (absent, never `null`).
    pub(crate) fn opt_object<'s>(
        &'s self,
        key: &'s str,
    ) -> Result<Option<Object<'a, 's>>, JsonError> {
        self.get(key).map(|_| self.object(key)).transpose()
    }

    /// The raw value of a required key, for readers that recurse into it.
    pub(crate) fn value(&self, key: &str) -> Result<&'a Value, JsonError> {
        self.require(key)
    }
}

/// Appends `text` as a JSON string literal, escaping exactly what
/// serde_json escapes (`"`, `\` and control characters), so the output is
/// the same as serde_json's and cannot fail.
pub(crate) fn write_str(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_with_their_path() {
        assert_eq!(
            parse_value(br#"{"a":{"b":1,"b":2}}"#),
            Err(JsonError::DuplicateKey { path: "a.b".into() })
        );
        assert_eq!(
            parse_value(br#"{"a":[{"c":1},{"c":1,"c":1}]}"#),
            Err(JsonError::DuplicateKey {
                path: "a[1].c".into()
            })
        );
        assert!(parse_value(br#"{"a":{"b":1},"b":{"a":1}}"#).is_ok());
    }

    #[test]
    fn syntax_errors_and_trailing_bytes_are_refused() {
        for bad in [
            &b"{"[..],
            b"{} {}",
            b"",
            b"{\"a\":01}",
            b"[1,]",
            b"\"\\ud800\"",
        ] {
            assert!(
                matches!(parse_value(bad), Err(JsonError::Syntax { .. })),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "[".repeat(10_000);
        assert!(matches!(
            parse_value(deep.as_bytes()),
            Err(JsonError::Syntax { .. })
        ));
    }

    #[test]
    fn reader_names_fields() {
        let value = parse_value(br#"{"a":{"n":-1,"s":null},"l":[{"x":true}]}"#).unwrap();
        let root = Object::new(&value, Path::Root).unwrap();
        assert_eq!(
            root.only(&["a"]),
            Err(JsonError::UnknownField { path: "l".into() })
        );
        let a_value = root.value("a").unwrap();
        let a = Object::new(a_value, root.path().key("a")).unwrap();
        assert_eq!(
            a.u64("n"),
            Err(JsonError::WrongType {
                path: "a.n".into(),
                expected: "a non-negative integer",
                found: "a negative number"
            })
        );
        assert!(matches!(a.opt_str("s"), Err(JsonError::WrongType { .. })));
        assert_eq!(a.opt_str("t"), Ok(None));
        assert_eq!(
            a.str("t"),
            Err(JsonError::MissingField { path: "a.t".into() })
        );
        let list_path = root.path().key("l");
        let item = root.array("l").unwrap().first().unwrap();
        let item = Object::new(item, Path::Index(&list_path, 0)).unwrap();
        assert_eq!(item.field("x"), "l[0].x");
        assert_eq!(
            Object::new(&Value::Null, Path::Root)
                .err()
                .unwrap()
                .to_string(),
            "field `(top level)`: expected an object, found null"
        );
    }

    #[test]
    fn write_str_matches_serde_json() {
        for text in [
            "plain",
            "quote\" back\\slash",
            "\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}",
            "é€😀",
        ] {
            let mut ours = String::new();
            write_str(&mut ours, text);
            assert_eq!(ours, serde_json::to_string(text).unwrap());
        }
    }
}
