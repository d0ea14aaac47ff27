//! Property values as the engine, the wire and the state see them.
//!
//! A [`Value`] is JSON-like, plus two markers: [`Value::Unknown`] (not known
//! until apply, e.g. the ARN of a resource still to be created) and
//! [`Value::Secret`] (to be hidden in output and encrypted at rest). In JSON
//! form the markers are single-key objects: `{"$cairn.unknown": true}` and
//! `{"$cairn.secret": <value>}`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// JSON key that marks an unknown value.
pub const UNKNOWN_KEY: &str = "$cairn.unknown";
/// JSON key that wraps a secret value.
pub const SECRET_KEY: &str = "$cairn.secret";
/// JSON key of the placeholder an [`crate::Output`] leaves in declared inputs.
pub const OUTPUT_KEY: &str = "$cairn.output";
/// Reserved input key listing the properties a provider filled with defaults (e.g. auto-names).
pub const DEFAULTS_KEY: &str = "$cairn.defaults";

/// A property value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// No value.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    String(String),
    /// A list.
    List(Vec<Value>),
    /// A map with string keys, kept sorted so output and diffs are stable.
    Map(BTreeMap<String, Value>),
    /// Not known until the resources it comes from are applied.
    Unknown,
    /// A secret: shown as `[secret]`, encrypted at rest.
    Secret(Box<Value>),
}

/// A value that could not be converted to or from a typed Rust value.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConvertError(String);

impl Value {
    /// An empty map.
    pub fn map() -> Self {
        Value::Map(BTreeMap::new())
    }

    /// Converts any serializable value (typically a resource's typed arguments).
    pub fn from_serialize<T: Serialize + ?Sized>(v: &T) -> Result<Self, ConvertError> {
        serde_json::to_value(v).map(|j| Value::from_json(&j)).map_err(|e| ConvertError(e.to_string()))
    }

    /// Deserializes into a typed value. Secrets are unwrapped (the caller is
    /// the party allowed to see them, e.g. a provider); unknowns stay as
    /// markers, which only [`crate::Input`] accepts.
    pub fn deserialize_into<T: DeserializeOwned>(&self) -> Result<T, ConvertError> {
        serde_json::from_value(self.strip_secrets().to_json()).map_err(|e| ConvertError(e.to_string()))
    }

    /// Reads the JSON form, recognising the unknown and secret markers.
    pub fn from_json(j: &serde_json::Value) -> Self {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                if o.len() == 1 {
                    if let Some(serde_json::Value::Bool(true)) = o.get(UNKNOWN_KEY) {
                        return Value::Unknown;
                    }
                    if let Some(inner) = o.get(SECRET_KEY) {
                        return Value::Secret(Box::new(Value::from_json(inner)));
                    }
                }
                Value::Map(o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }

    /// Writes the JSON form, with markers for unknowns and secrets.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map(J::Number).unwrap_or(J::Null),
            Value::String(s) => J::String(s.clone()),
            Value::List(l) => J::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Value::Unknown => J::Object([(UNKNOWN_KEY.to_owned(), J::Bool(true))].into_iter().collect()),
            Value::Secret(v) => J::Object([(SECRET_KEY.to_owned(), v.to_json())].into_iter().collect()),
        }
    }

    /// True if the value or anything inside it is unknown.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::List(l) => l.iter().any(Value::contains_unknown),
            Value::Map(m) => m.values().any(Value::contains_unknown),
            Value::Secret(v) => v.contains_unknown(),
            _ => false,
        }
    }

    /// True if the value or anything inside it is secret.
    pub fn contains_secret(&self) -> bool {
        match self {
            Value::Secret(_) => true,
            Value::List(l) => l.iter().any(Value::contains_secret),
            Value::Map(m) => m.values().any(Value::contains_secret),
            _ => false,
        }
    }

    /// The same value with every secret wrapper removed (plaintext).
    pub fn strip_secrets(&self) -> Value {
        match self {
            Value::Secret(v) => v.strip_secrets(),
            Value::List(l) => Value::List(l.iter().map(Value::strip_secrets).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), v.strip_secrets())).collect()),
            other => other.clone(),
        }
    }

    /// Wraps the value as a secret unless it already is one.
    pub fn into_secret(self) -> Value {
        match self {
            Value::Secret(_) => self,
            other => Value::Secret(Box::new(other)),
        }
    }

    /// The map's entries, if this is a map.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// A top-level property of a map value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// The string, if this is a (possibly secret) string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Secret(v) => v.as_str(),
            _ => None,
        }
    }

    /// The integer, if this is a (possibly secret) integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Secret(v) => v.as_i64(),
            _ => None,
        }
    }

    /// The value at a path, if present.
    pub fn at(&self, path: &PropertyPath) -> Option<&Value> {
        let mut cur = self;
        for seg in &path.0 {
            cur = match (cur, seg) {
                (Value::Secret(v), _) => return v.at(&PropertyPath(vec![seg.clone()])),
                (Value::Map(m), PathSegment::Key(k)) => m.get(k)?,
                (Value::List(l), PathSegment::Index(i)) => l.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Lists the paths at which `new` differs from `self`.
    ///
    /// Maps are compared key by key, lists element by element when their
    /// lengths match (otherwise the whole list is one change), secrets by their
    /// plaintext. An unknown in `new` is always a change: it may differ once known.
    pub fn diff(&self, new: &Value) -> Vec<PropertyDiff> {
        let mut out = Vec::new();
        diff_into(&PropertyPath::root(), Some(self), Some(new), &mut out);
        out
    }

    /// True when [`Value::diff`] from `old` to `new` (either may be absent)
    /// would list a change, found without building the list or any path: the
    /// question the planner asks of every resource, changed or not.
    ///
    /// ```
    /// use cairn_core::Value;
    /// let a = Value::from_json(&serde_json::json!({"tags": {"team": "ml"}, "gone": null}));
    /// let b = Value::from_json(&serde_json::json!({"tags": {"team": "ml"}}));
    /// assert!(!Value::changed(Some(&a), Some(&b)));
    /// assert!(Value::changed(Some(&a), Some(&Value::Unknown)));
    /// ```
    pub fn changed(old: Option<&Value>, new: Option<&Value>) -> bool {
        match (strip_secret(old), strip_secret(new)) {
            (None | Some(Value::Null), None | Some(Value::Null)) => false,
            (Some(_), None | Some(Value::Null) | Some(Value::Unknown)) | (None | Some(Value::Null), Some(_)) => true,
            (Some(Value::Map(a)), Some(Value::Map(b))) => {
                a.iter().any(|(k, v)| Value::changed(Some(v), b.get(k)))
                    || b.iter().any(|(k, v)| !a.contains_key(k) && Value::changed(None, Some(v)))
            }
            (Some(Value::List(a)), Some(Value::List(b))) if a.len() == b.len() => {
                a.iter().zip(b).any(|(x, y)| Value::changed(Some(x), Some(y)))
            }
            (Some(a), Some(b)) => a != b,
        }
    }
}

/// A secret compares by its plaintext.
fn strip_secret(v: Option<&Value>) -> Option<&Value> {
    match v {
        Some(Value::Secret(inner)) => Some(&**inner),
        other => other,
    }
}

fn diff_into(path: &PropertyPath, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<PropertyDiff>) {
    let (old, new) = (strip_secret(old), strip_secret(new));
    match (old, new) {
        (None | Some(Value::Null), None | Some(Value::Null)) => {}
        (Some(_), None | Some(Value::Null)) => {
            out.push(PropertyDiff { path: path.clone(), kind: DiffKind::Delete, detail: None })
        }
        (None | Some(Value::Null), Some(_)) => {
            out.push(PropertyDiff { path: path.clone(), kind: DiffKind::Add, detail: None })
        }
        (Some(_), Some(Value::Unknown)) => {
            out.push(PropertyDiff { path: path.clone(), kind: DiffKind::Update, detail: None })
        }
        (Some(Value::Map(a)), Some(Value::Map(b))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                diff_into(&path.key(k), a.get(k.as_str()), b.get(k.as_str()), out);
            }
        }
        (Some(Value::List(a)), Some(Value::List(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff_into(&path.index(i), Some(x), Some(y), out);
            }
        }
        (Some(a), Some(b)) => {
            if a != b {
                out.push(PropertyDiff { path: path.clone(), kind: DiffKind::Update, detail: None });
            }
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

/// Reads a value straight from its JSON form, as [`Value::from_json`] does,
/// with no `serde_json::Value` built in between and dropped after: reading a
/// large state is mostly this.
struct ValueVisitor;

impl<'de> serde::de::Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        // Past i64, a number is a float, as in `from_json`.
        Ok(i64::try_from(u).map_or(Value::Float(u as f64), Value::Int))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element()? {
            list.push(v);
        }
        Ok(Value::List(list))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            m.insert(k, v);
        }
        // The markers of an unknown and of a secret, as `from_json` reads them.
        if m.len() == 1 {
            if m.get(UNKNOWN_KEY) == Some(&Value::Bool(true)) {
                return Ok(Value::Unknown);
            }
            if let Some(inner) = m.remove(SECRET_KEY) {
                return Ok(Value::Secret(Box::new(inner)));
            }
        }
        Ok(Value::Map(m))
    }
}

impl fmt::Display for Value {
    /// Renders the value for humans: secrets as `[secret]`, unknowns as `(known after apply)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Secret(_) => f.write_str("[secret]"),
            Value::Unknown => f.write_str("(known after apply)"),
            Value::String(s) => write!(f, "{s:?}"),
            other => {
                let j = other.to_json();
                f.write_str(&serde_json::to_string(&j).unwrap_or_default())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Value {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Value::Map(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

/// One step of a [`PropertyPath`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathSegment {
    /// A map key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// Where a property sits inside a resource's inputs: `scaling.min_size`, `taints[0].effect`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PropertyPath(pub Vec<PathSegment>);

impl PropertyPath {
    /// The empty path (the whole value).
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// Parses `a.b[0].c`.
    pub fn parse(s: &str) -> Self {
        let mut segs = Vec::new();
        for part in s.split('.').filter(|p| !p.is_empty()) {
            let mut rest = part;
            if let Some(i) = rest.find('[') {
                if i > 0 {
                    segs.push(PathSegment::Key(rest[..i].to_owned()));
                }
                rest = &rest[i..];
                while let Some(stripped) = rest.strip_prefix('[') {
                    let end = stripped.find(']').unwrap_or(stripped.len());
                    match stripped[..end].parse() {
                        Ok(n) => segs.push(PathSegment::Index(n)),
                        Err(_) => segs.push(PathSegment::Key(stripped[..end].to_owned())),
                    }
                    rest = stripped.get(end + 1..).unwrap_or("");
                }
            } else {
                segs.push(PathSegment::Key(rest.to_owned()));
            }
        }
        Self(segs)
    }

    /// This path extended by a map key.
    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(PathSegment::Key(k.to_owned()));
        p
    }

    /// This path extended by a list index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(PathSegment::Index(i));
        p
    }

    /// The top-level property this path starts with.
    pub fn top(&self) -> Option<&str> {
        match self.0.first() {
            Some(PathSegment::Key(k)) => Some(k),
            _ => None,
        }
    }
}

impl fmt::Display for PropertyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                PathSegment::Key(k) if i == 0 => f.write_str(k)?,
                PathSegment::Key(k) => write!(f, ".{k}")?,
                PathSegment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

impl Serialize for PropertyPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PropertyPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| PropertyPath::parse(&s))
    }
}

/// How a property changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffKind {
    /// Newly set.
    Add,
    /// Changed value.
    Update,
    /// No longer set.
    Delete,
}

/// A change at one property path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyDiff {
    /// Where.
    pub path: PropertyPath,
    /// How.
    pub kind: DiffKind,
    /// A text diff of the value, when the provider shows one (a manifest's lines, `-`/`+`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn markers_round_trip_through_json() {
        let v = Value::from_json(&json!({"a": {"$cairn.unknown": true}, "b": {"$cairn.secret": "pw"}, "c": [1, 2.5]}));
        assert_eq!(v.get("a"), Some(&Value::Unknown));
        assert_eq!(v.get("b"), Some(&Value::Secret(Box::new("pw".into()))));
        assert!(v.contains_unknown() && v.contains_secret());
        assert_eq!(Value::from_json(&v.to_json()), v);
        assert!(!v.strip_secrets().contains_secret());
    }

    #[test]
    fn diff_reports_nested_paths_and_unknowns() {
        let old = Value::from_json(&json!({"scaling": {"min": 0, "max": 2}, "tags": {"a": "1"}, "types": ["g5"]}));
        let new = Value::from_json(
            &json!({"scaling": {"min": 0, "max": 4}, "tags": {}, "types": ["g5", "g6"], "name": {"$cairn.unknown": true}}),
        );
        let paths: Vec<String> = old.diff(&new).iter().map(|d| format!("{}:{:?}", d.path, d.kind)).collect();
        assert_eq!(paths, ["name:Add", "scaling.max:Update", "tags.a:Delete", "types:Update"]);
        assert!(old.diff(&old).is_empty());
    }

    #[test]
    fn secrets_compare_by_plaintext_and_never_display() {
        let a = Value::from_json(&json!({"p": {"$cairn.secret": "x"}}));
        let b = Value::from_json(&json!({"p": "x"}));
        assert!(a.diff(&b).is_empty());
        assert_eq!(a.get("p").unwrap().to_string(), "[secret]");
    }

    #[test]
    fn paths_parse_and_print() {
        for s in ["a", "a.b", "taints[0].effect", "x[1][2]"] {
            assert_eq!(PropertyPath::parse(s).to_string(), s);
        }
        let v = Value::from_json(&json!({"taints": [{"effect": "NoSchedule"}]}));
        assert_eq!(v.at(&PropertyPath::parse("taints[0].effect")).and_then(Value::as_str), Some("NoSchedule"));
    }
}
